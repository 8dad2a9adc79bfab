// [callbacks] kind = "lr_monitor": Logs the learning rate of each parameter group.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct LrMonitorCallbackConfig {};
}  // namespace

ComponentEntry lr_monitor_callback_entry() {
  static const auto spec = ParamSpec<LrMonitorCallbackConfig>(
      "callbacks", "lr_monitor", "Logs the learning rate of each parameter group.");
  return {"callbacks", "lr_monitor", &spec};
}

}  // namespace fabric::exp::components
