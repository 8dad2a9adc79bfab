// [optimizer] kind = "adagrad": Adagrad.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct AdagradOptimizerConfig {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double eps = 1e-10;
};
}  // namespace

ComponentEntry adagrad_optimizer_entry() {
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
  return {"optimizer", "adagrad", &spec};
}

}  // namespace fabric::exp::components
