#include "engine/optim.hpp"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "fabric/error.hpp"
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

template <class Optimizer, class Options, class... Extra>
std::shared_ptr<optim::Optimizer> make(const Params& p, NetImpl& model, Options options,
                                       Extra... extra) {
  std::vector<at::Tensor> decay, no_decay;
  const bool split = p.has("no_decay_bias_norm") && p.flag("no_decay_bias_norm");
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
fabric::optim::StepKernel step_kernel(const Params& p, NetImpl& model) {
  auto params = model.parameters();
  const auto device = params.empty() ? c10::kCPU : params.front().device().type();
  try {
    return fabric::optim::resolve_step_kernel(p.text("kernel"), device);
  } catch (const NotSupportedError& e) {
    throw NotSupportedError("[optimizer] kernel: " + std::string(e.what()));
  }
}

std::tuple<double, double> betas(const Params& p) {
  auto b = p.numbers("betas");
  if (b.size() != 2) throw ValueError("[optimizer] betas must have two numbers");
  return {b[0], b[1]};
}

/// Adam and AdamW: the same options (AdamW's weight decay is decoupled) and the step kernel.
template <class Optimizer, class Options>
std::shared_ptr<optim::Optimizer> make_adam(const Params& p, NetImpl& model) {
  return make<Optimizer>(p, model,
                         Options(p.number("lr"))
                             .betas(betas(p))
                             .eps(p.number("eps"))
                             .weight_decay(p.number("weight_decay"))
                             .amsgrad(p.flag("amsgrad")),
                         step_kernel(p, model));
}

}  // namespace

std::shared_ptr<optim::Optimizer> build_optimizer(const Params& p, NetImpl& model) {
  const std::string kind = p.kind();
  const double lr = p.number("lr");
  if (kind == "sgd") {
    return make<optim::SGD>(p, model,
                            optim::SGDOptions(lr)
                                .momentum(p.number("momentum"))
                                .dampening(p.number("dampening"))
                                .weight_decay(p.number("weight_decay"))
                                .nesterov(p.flag("nesterov")));
  }
  if (kind == "adam")
    return make_adam<fabric::optim::MultiTensorAdam, optim::AdamOptions>(p, model);
  if (kind == "adamw") {
    return make_adam<fabric::optim::MultiTensorAdamW, optim::AdamWOptions>(p, model);
  }
  if (kind == "rmsprop") {
    return make<optim::RMSprop>(p, model,
                                optim::RMSpropOptions(lr)
                                    .alpha(p.number("alpha"))
                                    .eps(p.number("eps"))
                                    .weight_decay(p.number("weight_decay"))
                                    .momentum(p.number("momentum"))
                                    .centered(p.flag("centered")));
  }
  if (kind == "adagrad") {
    return make<optim::Adagrad>(p, model,
                                optim::AdagradOptions(lr)
                                    .lr_decay(p.number("lr_decay"))
                                    .weight_decay(p.number("weight_decay"))
                                    .eps(p.number("eps")));
  }
  throw NotSupportedError("[optimizer] kind '" + kind + "' is not supported yet");
}

double group_lr(const optim::OptimizerParamGroup& group) {
  return group.options().get_lr();
}
void set_group_lr(optim::OptimizerParamGroup& group, double lr) {
  group.options().set_lr(lr);
}

Schedule::Schedule(const Params& p, int64_t total_steps, int64_t total_epochs)
    : interval_(p.text("interval")),
      warmup_(p.integer("warmup_steps")),
      total_steps_(std::max<int64_t>(1, total_steps)),
      total_epochs_(std::max<int64_t>(1, total_epochs)) {
  const std::string kind = p.kind();
  if (kind == "constant") {
    rule_ = [](double base, double, double) { return base; };
  } else if (kind == "step") {
    const double size = double(p.integer("step_size")), gamma = p.number("gamma");
    rule_ = [=](double base, double t, double) {
      return base * std::pow(gamma, std::floor(t / size));
    };
  } else if (kind == "multistep") {
    auto milestones = p.integers("milestones");
    const double gamma = p.number("gamma");
    rule_ = [=](double base, double t, double) {
      int passed = 0;
      for (auto m : milestones) passed += t >= double(m);
      return base * std::pow(gamma, passed);
    };
  } else if (kind == "exponential") {
    const double gamma = p.number("gamma");
    rule_ = [=](double base, double t, double) { return base * std::pow(gamma, t); };
  } else if (kind == "cosine") {
    const double eta_min = p.number("eta_min");
    rule_ = [=](double base, double t, double total) {
      return eta_min + (base - eta_min) * (1 + std::cos(M_PI * std::min(t, total) / total)) / 2;
    };
  } else if (kind == "linear") {
    const double a = p.number("start_factor"), b = p.number("end_factor");
    rule_ = [=](double base, double t, double total) {
      return base * (a + (b - a) * std::min(t, total) / total);
    };
  } else if (kind == "one_cycle") {
    // PyTorch's OneCycleLR (cos annealing, div_factor 25, final_div_factor 1e4); max_lr is the
    // peak whatever the optimizer's lr.
    const double max_lr = p.number("max_lr"), pct = p.number("pct_start");
    rule_ = [=](double, double t, double total) {
      const double initial = max_lr / 25, final_lr = initial / 1e4, up = pct * total;
      auto anneal = [](double from, double to, double frac) {
        return to + (from - to) * (1 + std::cos(M_PI * frac)) / 2;
      };
      if (t < up) return anneal(initial, max_lr, t / std::max(up, 1.0));
      return anneal(max_lr, final_lr, std::min(1.0, (t - up) / std::max(total - up, 1.0)));
    };
  } else {
    throw NotSupportedError("[scheduler] kind '" + kind + "' is not supported yet");
  }
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
