#include "engine/optimizer.hpp"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include "common/error.hpp"
#include "exp/components/optimizer/adagrad.hpp"
#include "exp/components/optimizer/adam.hpp"
#include "exp/components/optimizer/adamw.hpp"
#include "exp/components/optimizer/rmsprop.hpp"
#include "exp/components/optimizer/sgd.hpp"
#include "fabric/optim/multi_tensor_adam.hpp"

namespace fabric::engine {

namespace optim = torch::optim;

namespace {

template <class Options>
std::unique_ptr<optim::OptimizerOptions> with_decay(const Options& options, double decay) {
  auto copy = std::make_unique<Options>(options);
  copy->weight_decay(decay);
  return copy;
}

/// Parameter groups: with `split`, one-dimensional parameters (biases, norm scales) get a group
/// of their own without weight decay.
template <class Optimizer, class Options, class... Extra>
std::shared_ptr<optim::Optimizer> make(bool split, NetImpl& model, Options options,
                                       Extra... extra) {
  std::vector<at::Tensor> decay, no_decay;
  for (auto& param : model.parameters()) {
    if (!param.requires_grad()) continue;
    (split && param.dim() <= 1 ? no_decay : decay).push_back(param);
  }
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, with_decay(options, options.weight_decay()));
  if (!no_decay.empty()) groups.emplace_back(no_decay, with_decay(options, 0.0));
  return std::make_shared<Optimizer>(std::move(groups), options, extra...);
}

/// [optimizer] kernel, resolved for the device the model's parameters are on.
fabric::optim::StepKernel step_kernel(const std::string& kernel, NetImpl& model) {
  auto params = model.parameters();
  const auto device = params.empty() ? c10::kCPU : params.front().device().type();
  try {
    return fabric::optim::resolve_step_kernel(kernel, device);
  } catch (const NotSupportedError& e) {
    throw NotSupportedError("[optimizer] kernel: " + std::string(e.what()));
  }
}

std::tuple<double, double> betas(const std::vector<double>& b) {
  if (b.size() != 2) throw ValueError("[optimizer] betas must have two numbers");
  return {b[0], b[1]};
}

/// Adam and AdamW: the same options (AdamW's weight decay is decoupled) and the step kernel.
template <class Optimizer, class Options, class Config>
std::shared_ptr<optim::Optimizer> make_adam(const Config& c, NetImpl& model) {
  return make<Optimizer>(c.no_decay_bias_norm, model,
                         Options(c.lr)
                             .betas(betas(c.betas))
                             .eps(c.eps)
                             .weight_decay(c.weight_decay)
                             .amsgrad(c.amsgrad),
                         step_kernel(c.kernel, model));
}

}  // namespace

void add_optimizer_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<OptimizerFamily>(sgd_optimizer_spec(), [](const SgdOptimizerConfig& c, NetImpl& model) {
    return make<optim::SGD>(c.no_decay_bias_norm, model,
                            optim::SGDOptions(c.lr)
                                .momentum(c.momentum)
                                .dampening(c.dampening)
                                .weight_decay(c.weight_decay)
                                .nesterov(c.nesterov));
  });
  f.add<OptimizerFamily>(adam_optimizer_spec(), [](const AdamOptimizerConfig& c, NetImpl& model) {
    return make_adam<fabric::optim::MultiTensorAdam, optim::AdamOptions>(c, model);
  });
  f.add<OptimizerFamily>(adamw_optimizer_spec(), [](const AdamwOptimizerConfig& c, NetImpl& model) {
    return make_adam<fabric::optim::MultiTensorAdamW, optim::AdamWOptions>(c, model);
  });
  f.add<OptimizerFamily>(rmsprop_optimizer_spec(),
                         [](const RmspropOptimizerConfig& c, NetImpl& model) {
                           return make<optim::RMSprop>(false, model,
                                                       optim::RMSpropOptions(c.lr)
                                                           .alpha(c.alpha)
                                                           .eps(c.eps)
                                                           .weight_decay(c.weight_decay)
                                                           .momentum(c.momentum)
                                                           .centered(c.centered));
                         });
  f.add<OptimizerFamily>(adagrad_optimizer_spec(), [](const AdagradOptimizerConfig& c,
                                                      NetImpl& model) {
    return make<optim::Adagrad>(
        false, model,
        optim::AdagradOptions(c.lr).lr_decay(c.lr_decay).weight_decay(c.weight_decay).eps(c.eps));
  });
}

double group_lr(const optim::OptimizerParamGroup& group) {
  return group.options().get_lr();
}
void set_group_lr(optim::OptimizerParamGroup& group, double lr) {
  group.options().set_lr(lr);
}

}  // namespace fabric::engine
