// [optimizer] kind = "adam": Adam.
#pragma once

#include "exp/components/optimizer/step_kernel_param.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct AdamOptimizerConfig : StepKernelParam {
  double lr = 1e-3;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool no_decay_bias_norm = false;
};

inline const auto& adam_optimizer_spec() {
  static const auto spec = add_step_kernel_param(
      ParamSpec<AdamOptimizerConfig>("optimizer", "adam", "Adam.")
          .param(&AdamOptimizerConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&AdamOptimizerConfig::betas, "betas", "Running-average coefficients.")
          .check(ge(0))
          .check(lt(1))
          .param(&AdamOptimizerConfig::eps, "eps", "Added to the denominator.")
          .check(gt(0))
          .param(&AdamOptimizerConfig::weight_decay, "weight_decay", "L2 penalty.")
          .check(ge(0))
          .param(&AdamOptimizerConfig::amsgrad, "amsgrad", "AMSGrad variant.")
          .param(&AdamOptimizerConfig::no_decay_bias_norm, "no_decay_bias_norm",
                 "No weight decay on biases and norm layers."));
  return spec;
}

}  // namespace fabric::exp::components
