// [loss] kind = "nll": Negative log likelihood on log-probabilities.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct NllLossConfig {};
}  // namespace

ComponentEntry nll_loss_entry() {
  static const auto spec =
      ParamSpec<NllLossConfig>("loss", "nll", "Negative log likelihood on log-probabilities.");
  return {"loss", "nll", &spec};
}

}  // namespace fabric::exp::components
