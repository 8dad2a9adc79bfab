#include "engine/model.hpp"

#include <torch/nn.h>
#include <torch/script.h>

#include <functional>
#include <map>
#include <set>

#include "common/error.hpp"
#include "engine/nets/transformer_lm.hpp"
#include "exp/components/model/cnn.hpp"
#include "exp/components/model/mlp.hpp"
#include "exp/components/model/resnet.hpp"
#include "exp/components/model/sequential.hpp"
#include "exp/components/model/torchscript.hpp"
#include "exp/diag/diagnostic.hpp"
#include "fabric/strategies/sharding_unit.hpp"

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

/// nn::Sequential's forward, with each layer a possible fsdp unit.
at::Tensor forward_layers(nn::Sequential& body, at::Tensor x) {
  for (auto& layer : *body) x = fabric::fsdp_unit(*layer.ptr(), [&] { return layer.forward(x); });
  return x;
}

/// The layers of `body` that own parameters.
std::vector<const nn::Module*> layers_with_parameters(const nn::Sequential& body) {
  std::vector<const nn::Module*> out;
  for (const auto& layer : *body) {
    if (!layer.ptr()->parameters().empty()) out.push_back(layer.ptr().get());
  }
  return out;
}

/// A torch::nn::Sequential behind the NetImpl interface.
class SequentialNet : public NetImpl {
 public:
  explicit SequentialNet(nn::Sequential body) : body_(register_module("body", body)) {}
  at::Tensor forward(at::Tensor x) override { return forward_layers(body_, x); }
  std::vector<const nn::Module*> sharding_blocks() const override {
    return layers_with_parameters(body_);
  }

 private:
  nn::Sequential body_;
};

class MlpNet : public NetImpl {
 public:
  MlpNet(const exp::components::MlpModelConfig& c, const DataInfo& info, int64_t outputs) {
    int64_t in = numel(info.input_shape);
    const double dropout = c.dropout;
    for (auto width : c.hidden) {
      body_->push_back(nn::Linear(in, width));
      body_->push_back(activation(c.activation));
      if (dropout > 0) body_->push_back(nn::Dropout(dropout));
      in = width;
    }
    body_->push_back(nn::Linear(in, outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return forward_layers(body_, x.flatten(1)); }
  std::vector<const nn::Module*> sharding_blocks() const override {
    return layers_with_parameters(body_);
  }

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
  CnnNet(const exp::components::CnnModelConfig& c, const DataInfo& info, int64_t outputs) {
    auto shape = image_shape(info, "cnn");
    int64_t in = shape[0], h = shape[1], w = shape[2];
    const int64_t k = c.kernel_size;
    for (auto out : c.channels) {
      body_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2)));
      if (c.batch_norm) body_->push_back(nn::BatchNorm2d(out));
      body_->push_back(nn::ReLU());
      body_->push_back(nn::MaxPool2d(2));
      in = out, h /= 2, w /= 2;
      if (h < 1 || w < 1)
        throw ValueError("[model] channels: too many pooling blocks for " + shape_text(shape) +
                         " inputs");
    }
    body_->push_back(nn::Flatten());
    body_->push_back(nn::Linear(in * h * w, c.hidden));
    body_->push_back(nn::ReLU());
    if (c.dropout > 0) body_->push_back(nn::Dropout(c.dropout));
    body_->push_back(nn::Linear(c.hidden, outputs));
    register_module("body", body_);
  }
  at::Tensor forward(at::Tensor x) override { return forward_layers(body_, x); }
  std::vector<const nn::Module*> sharding_blocks() const override {
    return layers_with_parameters(body_);
  }

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
  ResNet(const exp::components::ResnetModelConfig& c, const DataInfo& info, int64_t outputs) {
    auto shape = image_shape(info, "resnet");
    const auto &blocks = c.blocks, &channels = c.channels;
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
  at::Tensor forward(at::Tensor x) override { return forward_layers(body_, x); }
  std::vector<const nn::Module*> sharding_blocks() const override {
    return layers_with_parameters(body_);
  }

 private:
  nn::Sequential body_;
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
                            std::vector<int64_t> shape, bool integer_input, const DataInfo& info);

/// One layer being added: where it goes, what it gets, and where its errors point.
struct LayerSite {
  nn::Sequential& body;
  const std::vector<int64_t>& shape;  // of one sample reaching the layer
  bool& integer_input;                // token ids (before an embedding, which clears it)
  const DataInfo& info;
  const toml::table& layer;  // as written, for positions
  std::string at;            // "model.layers[2]"
  std::string type;

  [[noreturn]] void fail(const std::string& message) const {
    layer_error(layer, at + " (" + type + ") " + message);
  }
  void need_dims(size_t dims, const std::string& what) const {
    if (shape.size() != dims) {
      fail("needs " + what + " inputs; it gets samples of shape " + shape_text(shape));
    }
  }
};

using LayerBuilder = std::function<void(const toml::table& layer, LayerSite& site)>;

/// A layer type's builder: its declaration parses the table into the typed config (validation
/// has checked it).
template <class Config, class Make>
std::pair<std::string, LayerBuilder> layer(const exp::ParamSpec<Config>& spec, Make make) {
  return {spec.kind(), [&spec, make](const toml::table& layer, LayerSite& site) {
            make(spec.parse(layer), site);
          }};
}

template <class Make>
std::pair<std::string, LayerBuilder> plain(const std::string& type, Make make) {
  return layer(exp::components::plain_layer_spec(type),
               [make](const exp::components::PlainLayer&, LayerSite& site) { make(site); });
}

const std::map<std::string, LayerBuilder>& layer_builders() {
  using namespace exp::components;
  static const std::map<std::string, LayerBuilder> builders{
      layer(linear_layer_spec(),
            [](const LinearLayer& c, LayerSite& site) {
              if (site.shape.empty()) site.fail("gets scalars");
              site.body->push_back(nn::Linear(site.shape.back(), c.out));
            }),
      layer(conv2d_layer_spec(),
            [](const Conv2dLayer& c, LayerSite& site) {
              site.need_dims(3, "[channels, height, width]");
              site.body->push_back(nn::Conv2d(nn::Conv2dOptions(site.shape[0], c.out, c.kernel)
                                                  .stride(c.stride)
                                                  .padding(c.padding.value_or(c.kernel / 2))));
            }),
      plain("batchnorm",
            [](LayerSite& site) {
              if (site.shape.size() == 3) {
                site.body->push_back(nn::BatchNorm2d(site.shape[0]));
              } else if (site.shape.size() == 1) {
                site.body->push_back(nn::BatchNorm1d(site.shape[0]));
              } else {
                site.fail("needs [features] or [channels, h, w] inputs");
              }
            }),
      plain("layernorm",
            [](LayerSite& site) {
              site.body->push_back(nn::LayerNorm(nn::LayerNormOptions({site.shape.back()})));
            }),
      plain("relu", [](LayerSite& site) { site.body->push_back(nn::ReLU()); }),
      plain("gelu", [](LayerSite& site) { site.body->push_back(nn::GELU()); }),
      layer(dropout_layer_spec(),
            [](const DropoutLayer& c, LayerSite& site) { site.body->push_back(nn::Dropout(c.p)); }),
      layer(maxpool2d_layer_spec(),
            [](const MaxPool2dLayer& c, LayerSite& site) {
              site.need_dims(3, "[channels, height, width]");
              site.body->push_back(nn::MaxPool2d(
                  nn::MaxPool2dOptions(c.kernel).stride(c.stride.value_or(c.kernel))));
            }),
      plain("avgpool", [](LayerSite& site) { site.body->push_back(GlobalAvgPool()); }),
      plain("flatten", [](LayerSite& site) { site.body->push_back(nn::Flatten()); }),
      layer(embedding_layer_spec(),
            [](const EmbeddingLayer& c, LayerSite& site) {
              if (!site.integer_input) site.fail("needs token (integer) inputs");
              const int64_t vocabulary = site.info.classes > 0 ? site.info.classes : 256;
              site.body->push_back(nn::Embedding(c.num.value_or(vocabulary), c.dim));
              site.integer_input = false;  // the layers after it get vectors
            }),
      layer(residual_layer_spec(),
            [](const ResidualLayer& c, LayerSite& site) {
              auto block = build_layers(*c.layers, site.at + ".layers", site.shape,
                                        site.integer_input, site.info);
              auto out = shape_after(block, site.shape, site.integer_input);
              if (out != site.shape) {
                layer_error(site.layer, site.at + " (residual): its layers turn " +
                                            shape_text(site.shape) + " into " + shape_text(out) +
                                            "; a residual block must keep the shape");
              }
              site.body->push_back(Residual(block));
            }),
  };
  return builders;
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
    const toml::table& layer = *(*layers)[i].as_table();  // validated: tables with a known type
    const std::string type = layer["type"].value_or(std::string());
    LayerSite site{body, shape, integer_input, info, layer, where + "[" + std::to_string(i) + "]",
                   type};
    const auto builder = layer_builders().find(type);
    if (builder == layer_builders().end()) site.fail("is not a layer type this build knows");
    builder->second(layer, site);
    try {
      shape = shape_after(body, input_shape, input_is_integer);
    } catch (const c10::Error& e) {
      site.fail("does not fit its input of shape " + shape_text(shape) + ": " +
                e.what_without_backtrace());
    }
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

int64_t model_outputs(const DataInfo& info, bool binary_logit) {
  if (info.task == Task::Regression) return info.target_width;
  if (binary_logit && info.classes == 2) return 1;
  return info.classes;
}

void add_model_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<ModelFamily>(mlp_model_spec(), [](const MlpModelConfig& c, const ModelInputs& in) -> Net {
    return std::make_shared<MlpNet>(c, in.info, in.outputs);
  });
  f.add<ModelFamily>(cnn_model_spec(), [](const CnnModelConfig& c, const ModelInputs& in) -> Net {
    return std::make_shared<CnnNet>(c, in.info, in.outputs);
  });
  f.add<ModelFamily>(resnet_model_spec(),
                     [](const ResnetModelConfig& c, const ModelInputs& in) -> Net {
                       return std::make_shared<ResNet>(c, in.info, in.outputs);
                     });
  f.add<ModelFamily>(transformer_lm_model_spec(),
                     [](const TransformerLmModelConfig& c, const ModelInputs& in) -> Net {
                       return make_transformer_lm(c, in.info);
                     });
  f.add<ModelFamily>(torchscript_model_spec(),
                     [](const TorchscriptModelConfig& c, const ModelInputs&) -> Net {
                       return std::make_shared<ScriptNet>(c.path);
                     });
  f.add<ModelFamily>(
      sequential_model_spec(), [](const SequentialModelConfig& c, const ModelInputs& in) -> Net {
        const toml::node& layers = *c.layers;  // required: validation saw it
        const bool tokens = in.info.task == Task::LanguageModel;
        auto body = build_layers(layers, "model.layers", in.info.input_shape, tokens, in.info);
        auto out = shape_after(body, in.info.input_shape, tokens);
        if (out.empty() || out.back() != in.outputs) {
          layer_error(layers, "model.layers: the last layer gives samples of shape " +
                                  shape_text(out) + " but the data and loss need " +
                                  std::to_string(in.outputs) + " outputs in the last dimension");
        }
        return std::make_shared<SequentialNet>(body);
      });
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
