// [model] kind = "mlp": Multilayer perceptron on flattened inputs.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MlpModelConfig {
  std::vector<int64_t> hidden = {256, 128};
  std::string activation = "relu";
  double dropout = 0.0;
};
}  // namespace

ComponentEntry mlp_model_entry() {
  static const auto spec =
      ParamSpec<MlpModelConfig>("model", "mlp", "Multilayer perceptron on flattened inputs.")
          .param(&MlpModelConfig::hidden, "hidden", "Widths of the hidden layers.")
          .check(ge(1))
          .param(&MlpModelConfig::activation, "activation", "Activation between layers.")
          .choices({"relu", "gelu", "tanh", "silu"})
          .param(&MlpModelConfig::dropout, "dropout",
                 "Dropout probability after each hidden layer.")
          .check(ge(0))
          .check(lt(1));
  return {"model", "mlp", &spec};
}

}  // namespace fabric::exp::components
