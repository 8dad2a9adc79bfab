// [loss] kind = "l1": Mean absolute error.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct L1LossConfig {};

inline const auto& l1_loss_spec() {
  static const auto spec =
      ParamSpec<L1LossConfig>("loss", "l1", "Mean absolute error.").needs_tasks({"regression"});
  return spec;
}

}  // namespace fabric::exp::components
