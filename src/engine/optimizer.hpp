// The [optimizer] components: each built for the model whose parameters it steps.
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>

#include "engine/component_factories.hpp"
#include "engine/model.hpp"

namespace fabric::engine {

/// [optimizer]: built for the model whose parameters it steps. With no_decay_bias_norm,
/// parameters of one dimension (biases, norm scales) get their own group without weight decay.
struct OptimizerFamily {
  static constexpr const char* table = "optimizer";
  using Product = std::shared_ptr<torch::optim::Optimizer>;
  using Context = NetImpl;
};

void add_optimizer_factories(ComponentFactories& factories);

double group_lr(const torch::optim::OptimizerParamGroup& group);
void set_group_lr(torch::optim::OptimizerParamGroup& group, double lr);

}  // namespace fabric::engine
