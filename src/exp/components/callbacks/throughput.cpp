// [callbacks] kind = "throughput": Logs samples/s (and tokens/s for text).
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct ThroughputCallbackConfig {
  int64_t window = 50;
};
}  // namespace

ComponentEntry throughput_callback_entry() {
  static const auto spec =
      ParamSpec<ThroughputCallbackConfig>("callbacks", "throughput",
                                          "Logs samples/s (and tokens/s for text).")
          .param(&ThroughputCallbackConfig::window, "window", "Steps averaged per figure.")
          .check(ge(1));
  return {"callbacks", "throughput", &spec};
}

}  // namespace fabric::exp::components
