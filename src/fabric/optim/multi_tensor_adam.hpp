// Adam and AdamW whose step updates all the parameters of a group together, as PyTorch's
// `foreach=True` / `fused=True` do, instead of LibTorch's ~10 ops per parameter (on a GPU,
// ~10 kernel launches per parameter: the step of a small model is launch-bound).
//
//   fused       one kernel per group: at::_fused_adam_ / _fused_adamw_ (LibTorch >= 2.0 on CUDA,
//               >= 2.4 on CPU).
//   foreach     eight multi-tensor (_foreach_*) ops per group: one kernel each on CUDA; on CPU
//               they loop over the tensors, the same arithmetic as per_tensor.
//   per_tensor  torch::optim::Adam/AdamW's own step.
//
// Options, parameter state and state_dict are torch::optim::Adam's/AdamW's (the classes derive
// from them), so checkpoints move between kernels and to plain LibTorch optimizers.
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <string>
#include <unordered_map>

#include "fabric/compat/torch_compat.hpp"

namespace fabric::optim {

enum class StepKernel { per_tensor, foreach, fused };

/// "per_tensor", "foreach", "fused".
std::string to_string(StepKernel kernel);

/// Whether this LibTorch has the fused Adam/AdamW kernels for `device` (a compat question).
using compat::has_fused_adam;

/// The kernel for a name: "auto" picks fused where it exists, else foreach on accelerators and
/// per_tensor on CPU (where foreach only loops: build/tools/bench/bench-optim-step times them).
/// Throws NotSupportedError for "fused" where has_fused_adam is false, ValueError for other names.
StepKernel resolve_step_kernel(const std::string& name, c10::DeviceType device);

namespace detail {
/// One bucket's float step counters for the fused kernels, reused across steps; `expected` is the
/// integer step each was last set to, so a loaded state_dict is noticed without a device sync.
struct StepCounters {
  std::unordered_map<const void*, std::pair<at::Tensor, int64_t>> by_param{};
};
}  // namespace detail

/// LibTorch's Adam or AdamW (`Base`) with a multi-tensor step; `decoupled`: AdamW's weight decay.
template <class Base, class Options, class State, bool decoupled>
class MultiTensorAdamOf : public Base {
 public:
  MultiTensorAdamOf(std::vector<torch::optim::OptimizerParamGroup> groups, Options defaults,
                    StepKernel kernel);
  at::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override;
  StepKernel kernel() const { return kernel_; }

 private:
  StepKernel kernel_;
  detail::StepCounters counters_;
};

using MultiTensorAdam = MultiTensorAdamOf<torch::optim::Adam, torch::optim::AdamOptions,
                                          torch::optim::AdamParamState, false>;
using MultiTensorAdamW = MultiTensorAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions,
                                           torch::optim::AdamWParamState, true>;
extern template class MultiTensorAdamOf<torch::optim::Adam, torch::optim::AdamOptions,
                                        torch::optim::AdamParamState, false>;
extern template class MultiTensorAdamOf<torch::optim::AdamW, torch::optim::AdamWOptions,
                                        torch::optim::AdamWParamState, true>;

}  // namespace fabric::optim
