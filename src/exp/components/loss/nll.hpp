// [loss] kind = "nll": Negative log likelihood on log-probabilities.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct NllLossConfig {};

inline const auto& nll_loss_spec() {
  static const auto spec =
      ParamSpec<NllLossConfig>("loss", "nll", "Negative log likelihood on log-probabilities.")
          .needs_tasks({"classification", "language_model"});
  return spec;
}

}  // namespace fabric::exp::components
