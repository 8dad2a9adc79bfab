// [loss] kind = "mse": Mean squared error.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MseLossConfig {};
}  // namespace

ComponentEntry mse_loss_entry() {
  static const auto spec = ParamSpec<MseLossConfig>("loss", "mse", "Mean squared error.");
  return {"loss", "mse", &spec};
}

}  // namespace fabric::exp::components
