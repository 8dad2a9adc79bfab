// [optimizer] kind = "sgd": Stochastic gradient descent with momentum.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct SgdOptimizerConfig {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool no_decay_bias_norm = false;
};

inline const auto& sgd_optimizer_spec() {
  static const auto spec =
      ParamSpec<SgdOptimizerConfig>("optimizer", "sgd",
                                    "Stochastic gradient descent with momentum.")
          .param(&SgdOptimizerConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&SgdOptimizerConfig::momentum, "momentum", "Momentum factor.")
          .check(ge(0))
          .param(&SgdOptimizerConfig::dampening, "dampening", "Dampening for momentum.")
          .check(ge(0))
          .param(&SgdOptimizerConfig::weight_decay, "weight_decay", "L2 penalty.")
          .check(ge(0))
          .param(&SgdOptimizerConfig::nesterov, "nesterov", "Nesterov momentum.")
          .param(&SgdOptimizerConfig::no_decay_bias_norm, "no_decay_bias_norm",
                 "No weight decay on biases and norm layers.");
  return spec;
}

}  // namespace fabric::exp::components
