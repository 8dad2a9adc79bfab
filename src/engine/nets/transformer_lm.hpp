// transformer_lm: a GPT-style causal decoder (token + position embeddings, pre-LN blocks, an
// output head tied to the token embedding or its own).
#pragma once

#include "engine/model.hpp"
#include "exp/components/model/transformer_lm.hpp"

namespace fabric::engine {

Net make_transformer_lm(const exp::components::TransformerLmModelConfig& config,
                        const DataInfo& info);

}  // namespace fabric::engine
