// [loss] kind = "mse": Mean squared error.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MseLossConfig {};

inline const auto& mse_loss_spec() {
  static const auto spec =
      ParamSpec<MseLossConfig>("loss", "mse", "Mean squared error.").needs_tasks({"regression"});
  return spec;
}

}  // namespace fabric::exp::components
