#include "engine/optim.hpp"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "exp/components/optim/adagrad.hpp"
#include "exp/components/optim/adam.hpp"
#include "exp/components/optim/adamw.hpp"
#include "exp/components/optim/rmsprop.hpp"
#include "exp/components/optim/sgd.hpp"
#include "exp/components/sched/constant.hpp"
#include "exp/components/sched/cosine.hpp"
#include "exp/components/sched/exponential.hpp"
#include "exp/components/sched/linear.hpp"
#include "exp/components/sched/multistep.hpp"
#include "exp/components/sched/one_cycle.hpp"
#include "exp/components/sched/step.hpp"
#include "fabric/base/error.hpp"
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

Schedule::Schedule(const exp::components::ScheduleParams& common, Rule rule,
                   const RunLength& length)
    : rule_(std::move(rule)),
      interval_(common.interval),
      warmup_(common.warmup_steps),
      total_steps_(std::max<int64_t>(1, length.total_steps)),
      total_epochs_(std::max<int64_t>(1, length.total_epochs)) {}

void add_schedule_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<ScheduleFamily>(constant_scheduler_spec(),
                        [](const ConstantSchedulerConfig& c, const RunLength& length) {
                          return Schedule(
                              c, [](double base, double, double) { return base; }, length);
                        });
  f.add<ScheduleFamily>(step_scheduler_spec(), [](const StepSchedulerConfig& c,
                                                  const RunLength& length) {
    const double size = double(c.step_size), gamma = c.gamma;
    return Schedule(
        c,
        [=](double base, double t, double) { return base * std::pow(gamma, std::floor(t / size)); },
        length);
  });
  f.add<ScheduleFamily>(
      multistep_scheduler_spec(), [](const MultistepSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [milestones = c.milestones, gamma = c.gamma](double base, double t, double) {
              int passed = 0;
              for (auto m : milestones) passed += t >= double(m);
              return base * std::pow(gamma, passed);
            },
            length);
      });
  f.add<ScheduleFamily>(exponential_scheduler_spec(), [](const ExponentialSchedulerConfig& c,
                                                         const RunLength& length) {
    return Schedule(
        c, [gamma = c.gamma](double base, double t, double) { return base * std::pow(gamma, t); },
        length);
  });
  f.add<ScheduleFamily>(cosine_scheduler_spec(), [](const CosineSchedulerConfig& c,
                                                    const RunLength& length) {
    return Schedule(
        c,
        [eta_min = c.eta_min](double base, double t, double total) {
          return eta_min + (base - eta_min) * (1 + std::cos(M_PI * std::min(t, total) / total)) / 2;
        },
        length);
  });
  f.add<ScheduleFamily>(
      linear_scheduler_spec(), [](const LinearSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [a = c.start_factor, b = c.end_factor](double base, double t, double total) {
              return base * (a + (b - a) * std::min(t, total) / total);
            },
            length);
      });
  // PyTorch's OneCycleLR (cos annealing, div_factor 25, final_div_factor 1e4); max_lr is the
  // peak whatever the optimizer's lr.
  f.add<ScheduleFamily>(
      one_cycle_scheduler_spec(), [](const OneCycleSchedulerConfig& c, const RunLength& length) {
        return Schedule(
            c,
            [max_lr = c.max_lr, pct = c.pct_start](double, double t, double total) {
              const double initial = max_lr / 25, final_lr = initial / 1e4, up = pct * total;
              auto anneal = [](double from, double to, double frac) {
                return to + (from - to) * (1 + std::cos(M_PI * frac)) / 2;
              };
              if (t < up) return anneal(initial, max_lr, t / std::max(up, 1.0));
              return anneal(max_lr, final_lr, std::min(1.0, (t - up) / std::max(total - up, 1.0)));
            },
            length);
      });
}

double Schedule::lr(double base, int64_t step, int64_t epoch) const {
  if (!rule_) return base;
  double value;
  if (interval_ == "epoch") {
    value = rule_(base, double(epoch), double(total_epochs_));
  } else {
    const int64_t after = std::max<int64_t>(0, step - warmup_);
    value = rule_(base, double(after), double(std::max<int64_t>(1, total_steps_ - warmup_)));
  }
  if (warmup_ > 0 && step < warmup_) value *= double(step + 1) / double(warmup_ + 1);
  return value;
}

void Schedule::bind(const optim::Optimizer& optimizer) {
  base_lrs_.clear();
  for (const auto& g : optimizer.param_groups()) base_lrs_.push_back(group_lr(g));
}

void Schedule::apply(optim::Optimizer& optimizer, int64_t step, int64_t epoch) {
  if (!rule_) return;
  auto& groups = optimizer.param_groups();
  if (base_lrs_.size() != groups.size()) throw std::logic_error("Schedule::apply before bind");
  for (size_t i = 0; i < groups.size(); ++i) set_group_lr(groups[i], lr(base_lrs_[i], step, epoch));
}

}  // namespace fabric::engine
