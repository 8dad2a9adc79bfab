// [loss] kind = "cross_entropy": Cross entropy over class logits.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct CrossEntropyLossConfig {
  double label_smoothing = 0.0;
  int64_t ignore_index = -100;
};
}  // namespace

ComponentEntry cross_entropy_loss_entry() {
  static const auto spec =
      ParamSpec<CrossEntropyLossConfig>("loss", "cross_entropy", "Cross entropy over class logits.")
          .param(&CrossEntropyLossConfig::label_smoothing, "label_smoothing", "Label smoothing.")
          .check(ge(0))
          .check(lt(1))
          .param(&CrossEntropyLossConfig::ignore_index, "ignore_index",
                 "Target value that does not count.");
  return {"loss", "cross_entropy", &spec};
}

}  // namespace fabric::exp::components
