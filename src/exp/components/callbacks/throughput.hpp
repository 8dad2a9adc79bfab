// [callbacks] kind = "throughput": Logs samples/s (and tokens/s for text).
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct ThroughputCallbackConfig {
  int64_t window = 50;
};

inline const auto& throughput_callback_spec() {
  static const auto spec =
      ParamSpec<ThroughputCallbackConfig>("callbacks", "throughput",
                                          "Logs samples/s (and tokens/s for text).")
          .param(&ThroughputCallbackConfig::window, "window", "Steps averaged per figure.")
          .check(ge(1));
  return spec;
}

}  // namespace fabric::exp::components
