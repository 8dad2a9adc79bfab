// [model] kind = "mlp": Multilayer perceptron on flattened inputs.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MlpModelConfig {
  std::vector<int64_t> hidden = {256, 128};
  std::string activation = "relu";
  double dropout = 0.0;
};

inline const auto& mlp_model_spec() {
  static const auto spec =
      ParamSpec<MlpModelConfig>("model", "mlp", "Multilayer perceptron on flattened inputs.")
          .needs_tasks({"classification", "regression"})
          .param(&MlpModelConfig::hidden, "hidden", "Widths of the hidden layers.")
          .check(ge(1))
          .param(&MlpModelConfig::activation, "activation", "Activation between layers.")
          .choices({"relu", "gelu", "tanh", "silu"})
          .param(&MlpModelConfig::dropout, "dropout",
                 "Dropout probability after each hidden layer.")
          .check(ge(0))
          .check(lt(1));
  return spec;
}

}  // namespace fabric::exp::components
