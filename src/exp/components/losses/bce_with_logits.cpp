// [loss] kind = "bce_with_logits": Binary cross entropy on logits.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct BceWithLogitsLossConfig {};
}  // namespace

ComponentEntry bce_with_logits_loss_entry() {
  static const auto spec = ParamSpec<BceWithLogitsLossConfig>("loss", "bce_with_logits",
                                                              "Binary cross entropy on logits.");
  return {"loss", "bce_with_logits", &spec};
}

}  // namespace fabric::exp::components
