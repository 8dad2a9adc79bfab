// [model] kind = "transformer_lm": GPT-style causal decoder for language modelling.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TransformerLmModelConfig {
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t width = 256;
  int64_t context = 128;
  double dropout = 0.1;
  bool tied_embeddings = true;
};

inline const auto& transformer_lm_model_spec() {
  static const auto spec =
      ParamSpec<TransformerLmModelConfig>("model", "transformer_lm",
                                          "GPT-style causal decoder for language modelling.")
          .needs_tasks({"language_model"})
          .param(&TransformerLmModelConfig::layers, "layers", "Decoder blocks.")
          .check(ge(1))
          .param(&TransformerLmModelConfig::heads, "heads", "Attention heads (must divide width).")
          .check(ge(1))
          .param(&TransformerLmModelConfig::width, "width", "Model width.")
          .alias("d_model")
          .check(ge(1))
          .param(&TransformerLmModelConfig::context, "context", "Context length in tokens.")
          .check(ge(1))
          .param(&TransformerLmModelConfig::dropout, "dropout", "Dropout probability.")
          .check(ge(0))
          .check(lt(1))
          .param(&TransformerLmModelConfig::tied_embeddings, "tied_embeddings",
                 "Share input and output embeddings.");
  return spec;
}

}  // namespace fabric::exp::components
