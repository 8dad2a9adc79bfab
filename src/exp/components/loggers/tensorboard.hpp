// [loggers] kind = "tensorboard": TensorBoard event files under the run folder.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TensorboardLoggerConfig {};

inline const auto& tensorboard_logger_spec() {
  static const auto spec = ParamSpec<TensorboardLoggerConfig>(
      "loggers", "tensorboard", "TensorBoard event files under the run folder.");
  return spec;
}

}  // namespace fabric::exp::components
