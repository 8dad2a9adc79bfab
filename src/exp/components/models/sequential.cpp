// [model] kind = "sequential": A stack of layers described in the recipe ([[model.layers]] tables).
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct SequentialModelConfig {};
}  // namespace

ComponentEntry sequential_model_entry() {
  static const auto spec =
      ParamSpec<SequentialModelConfig>(
          "model", "sequential",
          "A stack of layers described in the recipe ([[model.layers]] tables).")
          .tables("layers",
                  "Layers in order; each has a `type` (linear, conv2d, batchnorm, layernorm, relu, "
                  "gelu, dropout, maxpool2d, avgpool, flatten, embedding, residual).");
  return {"model", "sequential", &spec};
}

}  // namespace fabric::exp::components
