// [callbacks] kind = "early_stopping": Stops when a monitored metric stops improving.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct EarlyStoppingCallbackConfig {
  std::string monitor = "val/loss";
  std::string mode = "min";
  int64_t patience = 3;
  double min_delta = 0.0;
};

inline const auto& early_stopping_callback_spec() {
  static const auto spec =
      ParamSpec<EarlyStoppingCallbackConfig>("callbacks", "early_stopping",
                                             "Stops when a monitored metric stops improving.")
          .param(&EarlyStoppingCallbackConfig::monitor, "monitor", "Metric to watch.")
          .param(&EarlyStoppingCallbackConfig::mode, "mode", "Whether lower or higher is better.")
          .choices({"min", "max"})
          .param(&EarlyStoppingCallbackConfig::patience, "patience",
                 "Validations without improvement before stopping.")
          .check(ge(1))
          .param(&EarlyStoppingCallbackConfig::min_delta, "min_delta",
                 "Smallest change that counts as improvement.")
          .check(ge(0));
  return spec;
}

}  // namespace fabric::exp::components
