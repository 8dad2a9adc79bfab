// [model] kind = "sequential": A stack of layers described in the recipe ([[model.layers]] tables).
// Each layer type is declared like a component, its `type` selecting the declaration as `kind`
// selects a component's: validation checks a layer's keys and values before anything runs, and
// the engine builds each layer from its typed config.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct LinearLayer {
  int64_t out = 0;
};
struct Conv2dLayer {
  int64_t out = 0;
  int64_t kernel = 3;
  int64_t stride = 1;
  std::optional<int64_t> padding{};  // unset: kernel / 2 ("same" for odd kernels)
};
struct DropoutLayer {
  double p = 0.5;
};
struct MaxPool2dLayer {
  int64_t kernel = 2;
  std::optional<int64_t> stride{};  // unset: the kernel
};
struct EmbeddingLayer {
  std::optional<int64_t> num{};  // unset: the data's vocabulary (256 bytes for text)
  int64_t dim = 0;
};
struct ResidualLayer {
  Tables layers = nullptr;
};
struct PlainLayer {};  // batchnorm, layernorm, relu, gelu, avgpool, flatten: no keys

inline const auto& linear_layer_spec() {
  static const auto spec = ParamSpec<LinearLayer>("model.layers", "linear", "Fully connected.")
                               .param(&LinearLayer::out, "out", "Output features.")
                               .required()
                               .check(ge(1));
  return spec;
}
inline const auto& conv2d_layer_spec() {
  static const auto spec =
      ParamSpec<Conv2dLayer>("model.layers", "conv2d", "2-D convolution.")
          .param(&Conv2dLayer::out, "out", "Output channels.")
          .required()
          .check(ge(1))
          .param(&Conv2dLayer::kernel, "kernel", "Kernel size.")
          .check(ge(1))
          .param(&Conv2dLayer::stride, "stride", "Stride.")
          .check(ge(1))
          .param(&Conv2dLayer::padding, "padding", "Zero padding (default: kernel / 2).")
          .check(ge(0));
  return spec;
}
inline const auto& dropout_layer_spec() {
  static const auto spec = ParamSpec<DropoutLayer>("model.layers", "dropout", "Dropout.")
                               .param(&DropoutLayer::p, "p", "Probability of zeroing.")
                               .check(ge(0))
                               .check(lt(1));
  return spec;
}
inline const auto& maxpool2d_layer_spec() {
  static const auto spec =
      ParamSpec<MaxPool2dLayer>("model.layers", "maxpool2d", "2-D max pooling.")
          .param(&MaxPool2dLayer::kernel, "kernel", "Window size.")
          .check(ge(1))
          .param(&MaxPool2dLayer::stride, "stride", "Stride (default: the window).")
          .check(ge(1));
  return spec;
}
inline const auto& embedding_layer_spec() {
  static const auto spec =
      ParamSpec<EmbeddingLayer>("model.layers", "embedding", "Token embeddings.")
          .param(&EmbeddingLayer::num, "num", "Vocabulary size (default: the data's).")
          .check(ge(1))
          .param(&EmbeddingLayer::dim, "dim", "Embedding width.")
          .required()
          .check(ge(1));
  return spec;
}
inline const ParamSpec<PlainLayer>& plain_layer_spec(const std::string& type) {
  static const std::vector<ParamSpec<PlainLayer>> specs{
      {"model.layers", "batchnorm", "Batch normalisation (1-D or 2-D by the input)."},
      {"model.layers", "layernorm", "Layer normalisation over the last dimension."},
      {"model.layers", "relu", "ReLU."},
      {"model.layers", "gelu", "GELU."},
      {"model.layers", "avgpool", "Global average pooling over the spatial dimensions."},
      {"model.layers", "flatten", "Flattens each sample."}};
  for (const auto& s : specs) {
    if (s.kind() == type) return s;
  }
  throw std::logic_error("no plain layer type '" + type + "'");
}
// Declared before the list it belongs to: a residual block holds layers of every type.
inline const ParamSpec<ResidualLayer>& residual_layer_spec();

/// Every layer type's declaration, in the order docs list them.
inline const std::vector<const SpecBase*>& sequential_layer_specs() {
  static const std::vector<const SpecBase*> specs{
      &linear_layer_spec(),           &conv2d_layer_spec(),      &plain_layer_spec("batchnorm"),
      &plain_layer_spec("layernorm"), &plain_layer_spec("relu"), &plain_layer_spec("gelu"),
      &dropout_layer_spec(),          &maxpool2d_layer_spec(),   &plain_layer_spec("avgpool"),
      &plain_layer_spec("flatten"),   &embedding_layer_spec(),   &residual_layer_spec()};
  return specs;
}

inline const ParamSpec<ResidualLayer>& residual_layer_spec() {
  static const auto spec = ParamSpec<ResidualLayer>("model.layers", "residual",
                                                    "x + layers(x); the shape must not change.")
                               .tables(&ResidualLayer::layers, "layers",
                                       "The block's layers, in order.", sequential_layer_specs)
                               .required();
  return spec;
}

struct SequentialModelConfig {
  Tables layers = nullptr;
};

inline const auto& sequential_model_spec() {
  static const auto spec =
      ParamSpec<SequentialModelConfig>(
          "model", "sequential",
          "A stack of layers described in the recipe ([[model.layers]] tables).")
          .tables(&SequentialModelConfig::layers, "layers", "Layers in order; each has a `type`.",
                  sequential_layer_specs)
          .required();
  return spec;
}

}  // namespace fabric::exp::components
