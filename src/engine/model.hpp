// The [model] components. Every model is a NetImpl: a torch::nn::Module with one tensor in and
// one tensor out, so the loop, DDP and checkpoints treat them alike.
#pragma once

#include <torch/nn/module.h>

#include <memory>

#include "engine/component_factories.hpp"
#include "engine/data.hpp"

namespace fabric::engine {

class NetImpl : public torch::nn::Module {
 public:
  virtual at::Tensor forward(at::Tensor x) = 0;
  /// The submodules whose forward runs through fabric::fsdp_unit: what [fabric.fsdp] unit =
  /// "block" shards by (transformer_lm's decoder blocks, resnet's residual blocks, the layers
  /// with parameters of mlp, cnn and sequential).
  virtual std::vector<const torch::nn::Module*> sharding_blocks() const { return {}; }
};
using Net = std::shared_ptr<NetImpl>;

/// Outputs the model must produce for this data and loss (classes, 1 for binary BCE, width).
int64_t model_outputs(const DataInfo& info, bool binary_logit);

/// What a model is built for.
struct ModelInputs {
  DataInfo info{};
  int64_t outputs = 0;  // model_outputs
};

/// [model]. Build it from the [model] table as written (the recipe after extends and overrides,
/// before defaults are filled: the config is the same, and nodes keep the positions that errors
/// inside `[[model.layers]]` cite; they are thrown as exp::RecipeError).
struct ModelFamily {
  static constexpr const char* table = "model";
  using Product = Net;
  using Context = const ModelInputs;
};

void add_model_factories(ComponentFactories& factories);

/// Whether 4-D weights should be channels-last for `run.memory_format` ("auto":
/// when the model has 2-D convolutions and the inputs are images, where oneDNN's convolutions
/// and the vectorised pooling kernels are faster in that layout).
bool wants_channels_last(const std::string& memory_format, NetImpl& net, const DataInfo& info);
/// Stores every 4-D parameter with channels-last strides (same values).
void to_channels_last(NetImpl& net);

}  // namespace fabric::engine
