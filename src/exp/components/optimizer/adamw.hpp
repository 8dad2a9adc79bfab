// [optimizer] kind = "adamw": AdamW with decoupled weight decay.
#pragma once

#include "exp/components/optimizer/step_kernel_param.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct AdamwOptimizerConfig : StepKernelParam {
  double lr = 1e-3;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool no_decay_bias_norm = false;
};

inline const auto& adamw_optimizer_spec() {
  static const auto spec = add_step_kernel_param(
      ParamSpec<AdamwOptimizerConfig>("optimizer", "adamw", "AdamW with decoupled weight decay.")
          .param(&AdamwOptimizerConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&AdamwOptimizerConfig::betas, "betas", "Running-average coefficients.")
          .check(ge(0))
          .check(lt(1))
          .param(&AdamwOptimizerConfig::eps, "eps", "Added to the denominator.")
          .check(gt(0))
          .param(&AdamwOptimizerConfig::weight_decay, "weight_decay", "Decoupled weight decay.")
          .check(ge(0))
          .param(&AdamwOptimizerConfig::amsgrad, "amsgrad", "AMSGrad variant.")
          .param(&AdamwOptimizerConfig::no_decay_bias_norm, "no_decay_bias_norm",
                 "No weight decay on biases and norm layers."));
  return spec;
}

}  // namespace fabric::exp::components
