// [loss] kind = "bce_with_logits": Binary cross entropy on logits.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct BceWithLogitsLossConfig {};

inline const auto& bce_with_logits_loss_spec() {
  static const auto spec = ParamSpec<BceWithLogitsLossConfig>("loss", "bce_with_logits",
                                                              "Binary cross entropy on logits.");
  return spec;
}

}  // namespace fabric::exp::components
