// [loss] kind = "smooth_l1": Smooth L1 (Huber with beta).
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct SmoothL1LossConfig {
  double beta = 1.0;
};
}  // namespace

ComponentEntry smooth_l1_loss_entry() {
  static const auto spec =
      ParamSpec<SmoothL1LossConfig>("loss", "smooth_l1", "Smooth L1 (Huber with beta).")
          .param(&SmoothL1LossConfig::beta, "beta", "Switch point between L2 and L1.")
          .check(gt(0));
  return {"loss", "smooth_l1", &spec};
}

}  // namespace fabric::exp::components
