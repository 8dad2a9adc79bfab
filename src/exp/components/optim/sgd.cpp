// [optimizer] kind = "sgd": Stochastic gradient descent with momentum.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct SgdOptimizerConfig {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool no_decay_bias_norm = false;
};
}  // namespace

ComponentEntry sgd_optimizer_entry() {
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
  return {"optimizer", "sgd", &spec};
}

}  // namespace fabric::exp::components
