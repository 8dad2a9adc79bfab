#include "fabric/optim/multi_tensor_adam.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <tuple>

#include "common/error.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::optim {

std::string to_string(StepKernel kernel) {
  switch (kernel) {
    case StepKernel::per_tensor:
      return "per_tensor";
    case StepKernel::foreach:
      return "foreach";
    case StepKernel::fused:
      return "fused";
  }
  return "?";
}

StepKernel resolve_step_kernel(const std::string& name, c10::DeviceType device) {
  if (name == "per_tensor") return StepKernel::per_tensor;
  if (name == "foreach") return StepKernel::foreach;
  if (name == "fused") {
    if (!has_fused_adam(device)) {
      throw NotSupportedError("the fused Adam kernel is not in LibTorch " +
                              compat::torch_version() + " for " + c10::DeviceTypeName(device) +
                              " parameters (it needs 2.0 on CUDA, 2.4 on CPU); use \"foreach\"");
    }
    return StepKernel::fused;
  }
  if (name == "auto") {
    if (has_fused_adam(device)) return StepKernel::fused;
    return device == c10::kCPU ? StepKernel::per_tensor : StepKernel::foreach;
  }
  throw ValueError("unknown optimizer step kernel '" + name +
                   "' (use auto, fused, foreach or per_tensor)");
}

namespace {

struct Hyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled;
};

/// The parameters of one group that step together: same device, dtype and step count.
struct Bucket {
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
  std::vector<const void*> keys;
  int64_t step = 0;  // after this update
};

void foreach_update(Bucket& b, const Hyper& h) {
  const double bias1 = 1 - std::pow(h.beta1, double(b.step));
  const double bias2 = 1 - std::pow(h.beta2, double(b.step));
  std::vector<at::Tensor> grads = b.grads;
  if (h.weight_decay != 0) {
    if (h.decoupled) {
      at::_foreach_mul_(b.params, 1 - h.lr * h.weight_decay);
    } else {
      grads = at::_foreach_add(b.grads, b.params, h.weight_decay);
    }
  }
  // The same op sequence as torch::optim::Adam's step, so the results are the same bits.
  at::_foreach_mul_(b.exp_avgs, h.beta1);
  at::_foreach_add_(b.exp_avgs, grads, 1 - h.beta1);
  at::_foreach_mul_(b.exp_avg_sqs, h.beta2);
  at::_foreach_addcmul_(b.exp_avg_sqs, grads, grads, 1 - h.beta2);
  std::vector<at::Tensor> denom;
  if (h.amsgrad) {
    auto maxed = at::_foreach_maximum(b.max_exp_avg_sqs, b.exp_avg_sqs);
    for (size_t i = 0; i < maxed.size(); ++i) b.max_exp_avg_sqs[i].copy_(maxed[i]);
    denom = at::_foreach_sqrt(b.max_exp_avg_sqs);
  } else {
    denom = at::_foreach_sqrt(b.exp_avg_sqs);
  }
  at::_foreach_div_(denom, std::sqrt(bias2));
  at::_foreach_add_(denom, h.eps);
  at::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -h.lr / bias1);
}

void fused_update(Bucket& b, const Hyper& h, detail::StepCounters& counters) {
  std::vector<at::Tensor> steps;
  steps.reserve(b.params.size());
  for (size_t i = 0; i < b.params.size(); ++i) {
    auto& [counter, expected] = counters.by_param[b.keys[i]];
    if (!counter.defined() || expected != b.step - 1 || counter.device() != b.params[i].device()) {
      counter = at::full({}, double(b.step - 1), b.params[i].options().dtype(at::kFloat));
    }
    expected = b.step;
    steps.push_back(counter);
  }
  // As torch.optim's fused path: the kernel reads the incremented counters.
  at::_foreach_add_(steps, 1);
  compat::fused_adam_step(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, steps,
                          h.lr, h.beta1, h.beta2, h.weight_decay, h.eps, h.amsgrad, h.decoupled);
}

/// One step of every group; `State` is AdamParamState or AdamWParamState (same fields).
template <class State, class Options, class StateMap>
void multi_tensor_step(std::vector<torch::optim::OptimizerParamGroup>& groups, StateMap& state,
                       bool decoupled, StepKernel kernel, detail::StepCounters& counters) {
  for (auto& group : groups) {
    const auto& o = static_cast<const Options&>(group.options());
    const Hyper h{o.lr(),   std::get<0>(o.betas()), std::get<1>(o.betas()),
                  o.eps(),  o.weight_decay(),       o.amsgrad(),
                  decoupled};
    std::map<std::tuple<int, int, int, int64_t>, Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) {
        throw TypeError(std::string(decoupled ? "AdamW" : "Adam") +
                        " does not support sparse gradients");
      }
      auto& slot = state[compat::optimizer_state_key(p)];
      if (!slot) {
        auto fresh = std::make_unique<State>();
        fresh->step(0);
        fresh->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        if (h.amsgrad) fresh->max_exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<State&>(*slot);
      s.step(s.step() + 1);
      auto& b = buckets[{int(p.device().type()), int(p.device().index()), int(p.scalar_type()),
                         s.step()}];
      b.step = s.step();
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(s.exp_avg());
      b.exp_avg_sqs.push_back(s.exp_avg_sq());
      if (h.amsgrad) b.max_exp_avg_sqs.push_back(s.max_exp_avg_sq());
      b.keys.push_back(p.unsafeGetTensorImpl());
    }
    for (auto& [key, bucket] : buckets) {
      if (kernel == StepKernel::fused) {
        fused_update(bucket, h, counters);
      } else {
        foreach_update(bucket, h);
      }
    }
  }
}

at::Tensor evaluate(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

}  // namespace

template <class Base, class Options, class State, bool decoupled>
MultiTensorAdamOf<Base, Options, State, decoupled>::MultiTensorAdamOf(
    std::vector<torch::optim::OptimizerParamGroup> groups, Options defaults, StepKernel kernel)
    : Base(std::move(groups), std::move(defaults)), kernel_(kernel) {}

template <class Base, class Options, class State, bool decoupled>
at::Tensor MultiTensorAdamOf<Base, Options, State, decoupled>::step(
    torch::optim::Optimizer::LossClosure closure) {
  if (kernel_ == StepKernel::per_tensor) return Base::step(std::move(closure));
  at::NoGradGuard no_grad;
  at::Tensor loss = evaluate(closure);
  multi_tensor_step<State, Options>(this->param_groups_, this->state_, decoupled, kernel_,
                                    counters_);
  return loss;
}

template class MultiTensorAdamOf<torch::optim::Adam, torch::optim::AdamOptions,
                                 torch::optim::AdamParamState, false>;
template class MultiTensorAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions,
                                 torch::optim::AdamWParamState, true>;

}  // namespace fabric::optim
