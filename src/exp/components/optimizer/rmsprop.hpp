// [optimizer] kind = "rmsprop": RMSprop.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct RmspropOptimizerConfig {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

inline const auto& rmsprop_optimizer_spec() {
  static const auto spec =
      ParamSpec<RmspropOptimizerConfig>("optimizer", "rmsprop", "RMSprop.")
          .param(&RmspropOptimizerConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&RmspropOptimizerConfig::alpha, "alpha", "Smoothing constant.")
          .check(ge(0))
          .check(le(1))
          .param(&RmspropOptimizerConfig::eps, "eps", "Added to the denominator.")
          .check(gt(0))
          .param(&RmspropOptimizerConfig::weight_decay, "weight_decay", "L2 penalty.")
          .check(ge(0))
          .param(&RmspropOptimizerConfig::momentum, "momentum", "Momentum factor.")
          .check(ge(0))
          .param(&RmspropOptimizerConfig::centered, "centered",
                 "Normalise by the estimated variance.");
  return spec;
}

}  // namespace fabric::exp::components
