// [loss] kind = "smooth_l1": Smooth L1 (Huber with beta).
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct SmoothL1LossConfig {
  double beta = 1.0;
};

inline const auto& smooth_l1_loss_spec() {
  static const auto spec =
      ParamSpec<SmoothL1LossConfig>("loss", "smooth_l1", "Smooth L1 (Huber with beta).")
          .needs_tasks({"regression"})
          .param(&SmoothL1LossConfig::beta, "beta", "Switch point between L2 and L1.")
          .check(gt(0));
  return spec;
}

}  // namespace fabric::exp::components
