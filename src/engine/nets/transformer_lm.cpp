#include "engine/nets/transformer_lm.hpp"

#include <torch/nn.h>

#include "common/error.hpp"
#include "fabric/compat/torch_compat.hpp"
#include "fabric/strategies/sharding_unit.hpp"

namespace fabric::engine {

namespace nn = torch::nn;

namespace {

struct DecoderBlockImpl : nn::Module {
  DecoderBlockImpl(int64_t width, int64_t heads, double dropout)
      : heads(heads),
        ln1(register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({width})))),
        qkv(register_module("qkv", nn::Linear(width, 3 * width))),
        proj(register_module("proj", nn::Linear(width, width))),
        ln2(register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({width})))),
        fc(register_module("fc", nn::Linear(width, 4 * width))),
        out(register_module("out", nn::Linear(4 * width, width))),
        drop(register_module("drop", nn::Dropout(dropout))) {}

  at::Tensor forward(at::Tensor x) {
    const int64_t b = x.size(0), t = x.size(1), c = x.size(2), hd = c / heads;
    auto parts = qkv(ln1(x)).view({b, t, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    const double p = is_training() ? drop->options.p() : 0.0;
    auto y = fabric::compat::causal_attention(parts[0], parts[1], parts[2], p);
    y = y.transpose(1, 2).reshape({b, t, c});
    x = x + drop(proj(y));
    return x + drop(out(at::gelu(fc(ln2(x)))));
  }
  int64_t heads;
  nn::LayerNorm ln1;
  nn::Linear qkv, proj;
  nn::LayerNorm ln2;
  nn::Linear fc, out;
  nn::Dropout drop;
};
TORCH_MODULE(DecoderBlock);

/// GPT-style causal decoder: token + position embeddings, pre-LN blocks, tied output head.
class TransformerLm : public NetImpl {
 public:
  TransformerLm(const exp::components::TransformerLmModelConfig& c, const DataInfo& info)
      : tied_(c.tied_embeddings) {
    const int64_t width = c.width, heads = c.heads;
    context_ = c.context;
    vocab_ = info.classes > 0 ? info.classes : 256;
    if (width % heads != 0) {
      throw ValueError("[model] heads (" + std::to_string(heads) + ") must divide width (" +
                       std::to_string(width) + ")");
    }
    if (info.task != Task::LanguageModel) {
      throw ValueError("[model] kind 'transformer_lm' needs token data ([data] kind = \"text\")");
    }
    tokens_ = register_module("tokens", nn::Embedding(vocab_, width));
    positions_ = register_module("positions", nn::Embedding(context_, width));
    drop_ = register_module("drop", nn::Dropout(c.dropout));
    for (int64_t i = 0; i < c.layers; ++i) {
      blocks_.push_back(
          register_module("block" + std::to_string(i), DecoderBlock(width, heads, c.dropout)));
    }
    ln_ = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({width})));
    if (!tied_)
      head_ = register_module("head", nn::Linear(nn::LinearOptions(width, vocab_).bias(false)));
    // GPT-2's initialisation: N(0, 0.02) embeddings keep the tied logits small at the start.
    torch::NoGradGuard no_grad;
    tokens_->weight.normal_(0, 0.02);
    positions_->weight.normal_(0, 0.02);
  }
  at::Tensor forward(at::Tensor x) override {
    const int64_t t = x.size(1);
    if (t > context_) {
      throw ValueError("transformer_lm: input of " + std::to_string(t) +
                       " tokens exceeds the model's context " + std::to_string(context_));
    }
    auto pos = at::arange(t, x.options().dtype(at::kLong));
    auto h = drop_(tokens_(x) + positions_(pos));
    for (auto& block : blocks_) h = fabric::fsdp_unit(*block, [&] { return block->forward(h); });
    h = ln_(h);
    return tied_ ? at::linear(h, tokens_->weight) : head_(h);
  }
  std::vector<const nn::Module*> sharding_blocks() const override {
    std::vector<const nn::Module*> out;
    for (const auto& block : blocks_) out.push_back(block.get());
    return out;
  }

 private:
  bool tied_;
  int64_t context_ = 0, vocab_ = 0;
  nn::Embedding tokens_{nullptr}, positions_{nullptr};
  nn::Dropout drop_{nullptr};
  std::vector<DecoderBlock> blocks_;
  nn::LayerNorm ln_{nullptr};
  nn::Linear head_{nullptr};
};

}  // namespace

Net make_transformer_lm(const exp::components::TransformerLmModelConfig& config,
                        const DataInfo& info) {
  return std::make_shared<TransformerLm>(config, info);
}

}  // namespace fabric::engine
