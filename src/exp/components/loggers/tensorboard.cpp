// [loggers] kind = "tensorboard": TensorBoard event files under the run folder.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TensorboardLoggerConfig {};
}  // namespace

ComponentEntry tensorboard_logger_entry() {
  static const auto spec = ParamSpec<TensorboardLoggerConfig>(
      "loggers", "tensorboard", "TensorBoard event files under the run folder.");
  return {"loggers", "tensorboard", &spec};
}

}  // namespace fabric::exp::components
