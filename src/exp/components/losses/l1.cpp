// [loss] kind = "l1": Mean absolute error.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct L1LossConfig {};
}  // namespace

ComponentEntry l1_loss_entry() {
  static const auto spec = ParamSpec<L1LossConfig>("loss", "l1", "Mean absolute error.");
  return {"loss", "l1", &spec};
}

}  // namespace fabric::exp::components
