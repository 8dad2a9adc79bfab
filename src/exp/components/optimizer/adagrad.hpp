// [optimizer] kind = "adagrad": Adagrad.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct AdagradOptimizerConfig {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double eps = 1e-10;
};

inline const auto& adagrad_optimizer_spec() {
  static const auto spec =
      ParamSpec<AdagradOptimizerConfig>("optimizer", "adagrad", "Adagrad.")
          .param(&AdagradOptimizerConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&AdagradOptimizerConfig::lr_decay, "lr_decay", "Learning-rate decay.")
          .check(ge(0))
          .param(&AdagradOptimizerConfig::weight_decay, "weight_decay", "L2 penalty.")
          .check(ge(0))
          .param(&AdagradOptimizerConfig::eps, "eps", "Added to the denominator.")
          .check(gt(0));
  return spec;
}

}  // namespace fabric::exp::components
