// Optimizer state dicts in PyTorch's layout, so Python's optimizer.load_state_dict reads ours:
//   {"state": {0: {"step": t, "exp_avg": t, ...}, ...},
//    "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), ..., "params": [0, 1, 2]}]}
// Parameters are numbered in param-group order. SGD, Adam, AdamW, RMSprop and Adagrad use
// Python's key names; any other optimizer is stored as its LibTorch archive bytes under
// "__libtorch_archive__" (C++-readable only).
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/optim/optimizer.h>

#include <functional>

namespace fabric {

c10::impl::GenericDict optimizer_state_dict(torch::optim::Optimizer& optimizer);

/// Restores options and per-parameter state; state tensors follow their parameter's device.
void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& state);

/// While alive, optimizer_state_dict passes each per-parameter state tensor through
/// `to_file(param, value)` and load_optimizer_state_dict through `from_file` (fsdp: a shard's
/// state to and from the full parameter's). One per thread; they nest.
class OptimizerStateMapping {
 public:
  using Fn = std::function<at::Tensor(const at::Tensor& param, const at::Tensor& value)>;
  OptimizerStateMapping(Fn to_file, Fn from_file);
  ~OptimizerStateMapping();
  OptimizerStateMapping(const OptimizerStateMapping&) = delete;
  OptimizerStateMapping& operator=(const OptimizerStateMapping&) = delete;
  static const OptimizerStateMapping* active();

  Fn to_file, from_file;

 private:
  const OptimizerStateMapping* previous_;
};

/// Moves existing state tensors to their parameters' devices (after the model moved).
void move_optimizer_state_to_params(torch::optim::Optimizer& optimizer);

}  // namespace fabric
