#include "engine/models.hpp"

#include <torch/nn.h>
#include <torch/script.h>

#include <set>

#include "exp/diag/diagnostic.hpp"
#include "fabric/compat/torch_compat.hpp"
#include "fabric/error.hpp"

namespace fabric::engine {

namespace nn = torch::nn;

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

nn::AnyModule activation(const std::string& name) {
  if (name == "gelu") return nn::AnyModule(nn::GELU());
  if (name == "tanh") return nn::AnyModule(nn::Tanh());
  if (name == "silu") return nn::AnyModule(nn::SiLU());
  return nn::AnyModule(nn::ReLU());
}

/// A torch::nn::Sequential behind the NetImpl interface.
class SequentialNet : public NetImpl {
 public:
  explicit SequentialNet(nn::Sequential body) : body_(register_module("body", body)) {}
  at::Tensor forward(at::Tensor x) override { return body_->forward(x); }

 private:
  nn::Sequential body_;
};

class MlpNet : public NetImpl {
 public:
  MlpNet(const Params& p, const DataInfo& info, int64_t outputs) {
    int64_t in = numel(info.input_shape);
    const double dropout = p.number("dropout");
    for (auto width : p.integers("hidden")) {
      body_->push_back(nn::Linear(in, width));
      body_->push_back(activation(p.text("activation")));
      if (dropout > 0) body_->push_back(nn::Dropout(dropout));
      in = width;
    }
    body_->push_back(nn::Linear(in, outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return body_->forward(x.flatten(1)); }

 private:
  nn::Sequential body_;
};

std::vector<int64_t> image_shape(const DataInfo& info, const std::string& kind) {
  if (info.input_shape.size() != 3) {
    throw ValueError("[model] kind '" + kind + "' needs image inputs [channels, height, width]; " +
                     "the data gives samples of shape " + shape_text(info.input_shape));
  }
  return info.input_shape;
}

class CnnNet : public NetImpl {
 public:
  CnnNet(const Params& p, const DataInfo& info, int64_t outputs) {
    auto shape = image_shape(info, "cnn");
    int64_t in = shape[0], h = shape[1], w = shape[2];
    const int64_t k = p.integer("kernel_size");
    for (auto out : p.integers("channels")) {
      body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2)));
      if (p.flag("batch_norm")) body_->push_back(nn::BatchNorm2d(out));
      body_->push_back(nn::ReLU());
      body_->push_back(nn::MaxPool2d(2));
      in = out, h /= 2, w /= 2;
      if (h < 1 || w < 1)
        throw ValueError("[model] channels: too many pooling blocks for " + shape_text(shape) +
                         " inputs");
    }
    body_->push_back(nn::Flatten());
    body_->push_back(nn::Linear(in * h * w, p.integer("hidden")));
    body_->push_back(nn::ReLU());
    if (p.number("dropout") > 0) body_->push_back(nn::Dropout(p.number("dropout")));
    body_->push_back(nn::Linear(p.integer("hidden"), outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return body_->forward(x); }

 private:
  nn::Sequential body_;
};

struct BasicBlockImpl : nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(register_module(
            "conv1",
            nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
        bn1(register_module("bn1", nn::BatchNorm2d(out))),
        conv2(register_module("conv2",
                              nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
        bn2(register_module("bn2", nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) {
      shortcut = register_module(
          "shortcut",
          nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)),
                         nn::BatchNorm2d(out)));
    }
  }
  at::Tensor forward(at::Tensor x) {
    auto y = bn2(conv2(at::relu(bn1(conv1(x)))));
    return at::relu(y + (shortcut ? shortcut->forward(x) : x));
  }
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Conv2d conv2;
  nn::BatchNorm2d bn2;
  nn::Sequential shortcut{nullptr};
};
TORCH_MODULE(BasicBlock);

/// A small ResNet for 28x28 / 32x32 inputs (He et al.'s CIFAR variant).
class ResNet : public NetImpl {
 public:
  ResNet(const Params& p, const DataInfo& info, int64_t outputs) {
    auto shape = image_shape(info, "resnet");
    const auto blocks = p.integers("blocks"), channels = p.integers("channels");
    if (blocks.size() != channels.size()) {
      throw ValueError("[model] blocks and channels must have the same length (" +
                       std::to_string(blocks.size()) + " vs " + std::to_string(channels.size()) +
                       ")");
    }
    body_->push_back(
        nn::Conv2d(nn::Conv2dOptions(shape[0], channels[0], 3).padding(1).bias(false)));
    body_->push_back(nn::BatchNorm2d(channels[0]));
    body_->push_back(nn::ReLU());
    int64_t in = channels[0];
    for (size_t s = 0; s < blocks.size(); ++s) {
      for (int64_t b = 0; b < blocks[s]; ++b) {
        body_->push_back(BasicBlock(in, channels[s], (s > 0 && b == 0) ? 2 : 1));
        in = channels[s];
      }
    }
    body_->push_back(nn::AdaptiveAvgPool2d(1));
    body_->push_back(nn::Flatten());
    body_->push_back(nn::Linear(in, outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return body_->forward(x); }

 private:
  nn::Sequential body_;
};

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
  TransformerLm(const Params& p, const DataInfo& info) : tied_(p.flag("tied_embeddings")) {
    const int64_t width = p.integer("width"), heads = p.integer("heads");
    context_ = p.integer("context");
    vocab_ = info.classes > 0 ? info.classes : 256;
    if (width % heads != 0) {
      throw ValueError("[model] heads (" + std::to_string(heads) + ") must divide width (" +
                       std::to_string(width) + ")");
    }
    if (info.task != "language_model") {
      throw ValueError("[model] kind 'transformer_lm' needs token data ([data] kind = \"text\")");
    }
    tokens_ = register_module("tokens", nn::Embedding(vocab_, width));
    positions_ = register_module("positions", nn::Embedding(context_, width));
    drop_ = register_module("drop", nn::Dropout(p.number("dropout")));
    for (int64_t i = 0; i < p.integer("layers"); ++i) {
      blocks_.push_back(register_module("block" + std::to_string(i),
                                        DecoderBlock(width, heads, p.number("dropout"))));
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
    for (auto& block : blocks_) h = block->forward(h);
    h = ln_(h);
    return tied_ ? at::linear(h, tokens_->weight) : head_(h);
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

// ---- sequential: layers described in the recipe -------------------------------------------

[[noreturn]] void layer_error(const toml::node& at, const std::string& message,
                              std::vector<std::string> notes = {}) {
  const auto& src = at.source();
  exp::SourcePos pos{src.path ? *src.path : std::string("recipe"), int(src.begin.line),
                     int(src.begin.column)};
  throw exp::RecipeError({exp::Diagnostic{pos, message, std::move(notes)}});
}

/// A residual block: y = x + body(x) (shapes must match).
struct ResidualImpl : nn::Module {
  explicit ResidualImpl(nn::Sequential body) : body(register_module("body", body)) {}
  at::Tensor forward(at::Tensor x) { return x + body->forward(x); }
  nn::Sequential body;
};
TORCH_MODULE(Residual);

struct GlobalAvgPoolImpl : nn::Module {
  at::Tensor forward(at::Tensor x) { return x.dim() > 2 ? x.flatten(2).mean(2) : x; }
};
TORCH_MODULE(GlobalAvgPool);

struct LayerReader {
  const toml::table& layer;
  std::string where;
  std::set<std::string> used{"type"};

  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt) {
    used.insert(key);
    const toml::node* n = layer.get(key);
    if (!n) {
      if (fallback) return *fallback;
      layer_error(layer, where + " needs '" + key + "'");
    }
    auto v = n->value_exact<int64_t>();
    if (!v || *v < 1) layer_error(*n, where + "." + key + " must be an integer >= 1");
    return *v;
  }
  double number(const std::string& key, double fallback) {
    used.insert(key);
    const toml::node* n = layer.get(key);
    if (!n) return fallback;
    auto v = n->value<double>();
    if (!v || *v < 0 || *v >= 1) layer_error(*n, where + "." + key + " must be in [0, 1)");
    return *v;
  }
  void finish() {
    static const std::vector<std::string> keys{"type", "out", "kernel", "stride", "padding",
                                               "p",    "num", "dim",    "layers"};
    for (const auto& [k, v] : layer) {
      if (!used.count(std::string(k.str()))) {
        auto close = exp::suggest(std::string(k.str()), keys, 1);
        layer_error(v, where + ": unknown key '" + std::string(k.str()) + "' for this layer type",
                    close.empty() ? std::vector<std::string>{}
                                  : std::vector<std::string>{"did you mean '" + close[0] + "'?"});
      }
    }
  }
};

const std::vector<std::string> kLayerTypes{"linear",  "conv2d",  "batchnorm", "layernorm",
                                           "relu",    "gelu",    "dropout",   "maxpool2d",
                                           "avgpool", "flatten", "embedding", "residual"};

std::vector<int64_t> shape_after(nn::Sequential& body, const std::vector<int64_t>& in_shape,
                                 bool integer_input) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> shape{2};
  shape.insert(shape.end(), in_shape.begin(), in_shape.end());
  auto x = integer_input ? at::zeros(shape, at::kLong) : at::zeros(shape);
  const bool was_training = body->is_training();
  body->eval();
  auto y = body->forward(x);
  body->train(was_training);
  return std::vector<int64_t>(y.sizes().begin() + 1, y.sizes().end());
}

nn::Sequential build_layers(const toml::node& layers_node, const std::string& where,
                            std::vector<int64_t> shape, bool integer_input, const DataInfo& info) {
  const auto* layers = layers_node.as_array();
  if (!layers || layers->empty())
    layer_error(layers_node, where + " must be a non-empty list of tables");
  nn::Sequential body;
  const std::vector<int64_t> input_shape = shape;
  const bool input_is_integer = integer_input;
  for (size_t i = 0; i < layers->size(); ++i) {
    const auto* layer = (*layers)[i].as_table();
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!layer) layer_error((*layers)[i], at + " must be a table");
    const toml::node* type_node = layer->get("type");
    if (!type_node || !type_node->is_string())
      layer_error(*layer, at + " needs type = \"...\"", {"one of: " + exp::join(kLayerTypes)});
    const std::string type = type_node->value<std::string>().value();
    LayerReader r{*layer, at};
    auto need_dims = [&](size_t dims, const std::string& what) {
      if (shape.size() != dims) {
        layer_error(*layer, at + " (" + type + ") needs " + what +
                                " inputs; it gets samples of shape " + shape_text(shape));
      }
    };
    if (type == "linear") {
      if (shape.empty()) layer_error(*layer, at + " (linear) gets scalars");
      body->push_back(nn::Linear(shape.back(), r.integer("out")));
    } else if (type == "conv2d") {
      need_dims(3, "[channels, height, width]");
      const int64_t k = r.integer("kernel", 3);
      r.used.insert("padding");
      int64_t pad = k / 2;
      if (const toml::node* n = layer->get("padding")) {
        auto v = n->value_exact<int64_t>();
        if (!v || *v < 0) layer_error(*n, at + ".padding must be an integer >= 0");
        pad = *v;
      }
      body->push_back(nn::Conv2d(nn::Conv2dOptions(shape[0], r.integer("out"), k)
                                     .stride(r.integer("stride", 1))
                                     .padding(pad)));
    } else if (type == "batchnorm") {
      if (shape.size() == 3) {
        body->push_back(nn::BatchNorm2d(shape[0]));
      } else if (shape.size() == 1) {
        body->push_back(nn::BatchNorm1d(shape[0]));
      } else {
        layer_error(*layer, at + " (batchnorm) needs [features] or [channels, h, w] inputs");
      }
    } else if (type == "layernorm") {
      body->push_back(nn::LayerNorm(nn::LayerNormOptions({shape.back()})));
    } else if (type == "relu") {
      body->push_back(nn::ReLU());
    } else if (type == "gelu") {
      body->push_back(nn::GELU());
    } else if (type == "dropout") {
      body->push_back(nn::Dropout(r.number("p", 0.5)));
    } else if (type == "maxpool2d") {
      need_dims(3, "[channels, height, width]");
      const int64_t k = r.integer("kernel", 2);
      body->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(k).stride(r.integer("stride", k))));
    } else if (type == "avgpool") {
      body->push_back(GlobalAvgPool());
    } else if (type == "flatten") {
      body->push_back(nn::Flatten());
    } else if (type == "embedding") {
      if (!integer_input) layer_error(*layer, at + " (embedding) needs token (integer) inputs");
      body->push_back(
          nn::Embedding(r.integer("num", info.classes > 0 ? info.classes : 256), r.integer("dim")));
    } else if (type == "residual") {
      r.used.insert("layers");
      const toml::node* inner = layer->get("layers");
      if (!inner) layer_error(*layer, at + " (residual) needs layers = [{ type = ... }, ...]");
      auto block = build_layers(*inner, at + ".layers", shape, integer_input, info);
      auto out = shape_after(block, shape, integer_input);
      if (out != shape) {
        layer_error(*layer, at + " (residual): its layers turn " + shape_text(shape) + " into " +
                                shape_text(out) + "; a residual block must keep the shape");
      }
      body->push_back(Residual(block));
    } else {
      auto close = exp::suggest(type, kLayerTypes, 1);
      layer_error(*type_node, at + ": unknown layer type '" + type + "'",
                  {close.empty() ? "one of: " + exp::join(kLayerTypes)
                                 : "did you mean '" + close[0] + "'?"});
    }
    r.finish();
    try {
      shape = shape_after(body, input_shape, input_is_integer);
    } catch (const c10::Error& e) {
      layer_error(*layer, at + " (" + type + ") does not fit its input of shape " +
                              shape_text(shape) + ": " + e.what_without_backtrace());
    }
    if (type == "embedding") integer_input = false;
  }
  return body;
}

/// A Python TorchScript module behind NetImpl: its parameters and buffers are registered under
/// the same dotted hierarchy (sharing the tensors), so optimizers, DDP and checkpoints see
/// Python's state_dict names.
class ScriptNet : public NetImpl {
 public:
  explicit ScriptNet(const std::string& path) {
    try {
      script_ = torch::jit::load(path);
    } catch (const c10::Error& e) {
      throw ValueError("'" + path + "': not a TorchScript file written by torch.jit.save: " +
                       std::string(e.what_without_backtrace()).substr(0, 300));
    }
    mirror(script_, *this);
  }
  at::Tensor forward(at::Tensor x) override {
    auto out = script_.forward({x});
    if (!out.isTensor()) throw TypeError("torchscript model: forward must return one tensor");
    return out.toTensor();
  }
  void train(bool on) override {
    nn::Module::train(on);
    script_.train(on);
  }

 private:
  static void mirror(const torch::jit::Module& from, nn::Module& to) {
    for (const auto& p : from.named_parameters(/*recurse=*/false)) {
      to.register_parameter(p.name, p.value, p.value.requires_grad());
    }
    for (const auto& b : from.named_buffers(/*recurse=*/false)) to.register_buffer(b.name, b.value);
    for (const auto& child : from.named_children()) {
      auto sub = std::make_shared<nn::Module>(child.name);
      mirror(child.value, *sub);
      to.register_module(child.name, sub);
    }
  }
  torch::jit::Module script_;
};

}  // namespace

int64_t model_outputs(const DataInfo& info, const std::string& loss_kind) {
  if (info.task == "regression") return info.target_width;
  if (loss_kind == "bce_with_logits" && info.classes == 2) return 1;
  return info.classes;
}

Net build_model(const Params& p, const toml::table& source, const DataInfo& info, int64_t outputs) {
  const std::string kind = p.kind();
  if (kind == "mlp") return std::make_shared<MlpNet>(p, info, outputs);
  if (kind == "cnn") return std::make_shared<CnnNet>(p, info, outputs);
  if (kind == "resnet") return std::make_shared<ResNet>(p, info, outputs);
  if (kind == "transformer_lm") return std::make_shared<TransformerLm>(p, info);
  if (kind == "torchscript") return std::make_shared<ScriptNet>(p.text("path"));
  if (kind == "sequential") {
    const toml::node* layers = source.get("layers");
    if (!layers) layer_error(source, "[model] kind \"sequential\" needs [[model.layers]] tables");
    const bool tokens = info.task == "language_model";
    auto body = build_layers(*layers, "model.layers", info.input_shape, tokens, info);
    auto out = shape_after(body, info.input_shape, tokens);
    if (out.empty() || out.back() != outputs) {
      layer_error(*layers, "model.layers: the last layer gives samples of shape " +
                               shape_text(out) + " but the data and loss need " +
                               std::to_string(outputs) + " outputs in the last dimension");
    }
    return std::make_shared<SequentialNet>(body);
  }
  throw NotSupportedError("[model] kind '" + kind + "' is not supported yet");
}

bool wants_channels_last(const std::string& memory_format, NetImpl& net, const DataInfo& info) {
  if (memory_format != "auto") return memory_format == "channels_last";
  if (info.input_shape.size() != 3) return false;
  for (const auto& m : net.modules(/*include_self=*/false))
    if (m->as<nn::Conv2d>()) return true;
  return false;
}

void to_channels_last(NetImpl& net) {
  // Not p.contiguous(ChannelsLast): a weight with one input channel already counts as
  // channels-last-contiguous and keeps its NCHW strides, and layers of mixed layouts are slower
  // than either. Batches stay as they are: a convolution's output follows its weight's layout.
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters())
    if (p.dim() == 4) p.set_data(at::empty_like(p, at::MemoryFormat::ChannelsLast).copy_(p));
}

}  // namespace fabric::engine
