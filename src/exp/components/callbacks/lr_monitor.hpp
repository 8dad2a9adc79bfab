// [callbacks] kind = "lr_monitor": Logs the learning rate of each parameter group.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct LrMonitorCallbackConfig {};

inline const auto& lr_monitor_callback_spec() {
  static const auto spec = ParamSpec<LrMonitorCallbackConfig>(
      "callbacks", "lr_monitor", "Logs the learning rate of each parameter group.");
  return spec;
}

}  // namespace fabric::exp::components
