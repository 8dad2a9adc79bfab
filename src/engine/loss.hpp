// The [loss] components: a training loss, averaged over the batch (or tokens).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>

#include "engine/component_factories.hpp"
#include "engine/data.hpp"

namespace fabric::engine {

/// Loss of model outputs against targets, averaged over the batch (or tokens).
using LossFn = std::function<at::Tensor(const at::Tensor& output, const at::Tensor& target)>;

/// A training loss, and what it asks of the model's output.
struct Loss {
  LossFn fn{};
  bool binary_logit = false;  // two classes take one logit (binary cross entropy)
};

/// [loss]: scored on the data's targets (absent: cross_entropy).
struct LossFamily {
  static constexpr const char* table = "loss";
  using Product = Loss;
  using Context = const DataInfo;
};

/// Language-model outputs [B, T, V] against targets [B, T] become [B*T, V] against [B*T].
std::pair<at::Tensor, at::Tensor> flat_tokens(const at::Tensor& output, const at::Tensor& target);

void add_loss_factories(ComponentFactories& factories);

}  // namespace fabric::engine
