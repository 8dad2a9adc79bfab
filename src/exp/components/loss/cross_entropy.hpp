// [loss] kind = "cross_entropy": Cross entropy over class logits.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CrossEntropyLossConfig {
  double label_smoothing = 0.0;
  int64_t ignore_index = -100;
};

inline const auto& cross_entropy_loss_spec() {
  static const auto spec =
      ParamSpec<CrossEntropyLossConfig>("loss", "cross_entropy", "Cross entropy over class logits.")
          .needs_tasks({"classification", "language_model"})
          .param(&CrossEntropyLossConfig::label_smoothing, "label_smoothing", "Label smoothing.")
          .check(ge(0))
          .check(lt(1))
          .param(&CrossEntropyLossConfig::ignore_index, "ignore_index",
                 "Target value that does not count.");
  return spec;
}

}  // namespace fabric::exp::components
