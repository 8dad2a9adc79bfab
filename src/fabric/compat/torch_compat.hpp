// The one place where LibTorch 1.13 (Debian) and 2.x (PyTorch wheels) differ for this library.
// Each helper here hides one difference: process groups, autocast, optimizer state keys,
// zero_grad, the loss scaler's fused kernels, scaled dot-product attention.
#pragma once

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <chrono>
#include <string>

namespace c10d {
class ProcessGroup;
}

#define FABRIC_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace fabric::compat {

/// Autocast switches. 2.4 introduced the device-generic API; 1.13 has one function per device.
void set_autocast_enabled(c10::DeviceType device, bool enabled);
bool is_autocast_enabled(c10::DeviceType device);
void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype);
at::ScalarType get_autocast_dtype(c10::DeviceType device);

/// Whether autocast supports `dtype` on `device` (1.13 CPU autocast is bf16-only).
bool autocast_supports(c10::DeviceType device, at::ScalarType dtype);

/// Whether the fused ATen loss-scaler kernels exist for `device` (1.13: CUDA only).
bool has_fused_amp_kernels(c10::DeviceType device);

/// Key of a parameter in Optimizer::state(): a string in 1.13, a void* in 2.x.
#if FABRIC_TORCH_AT_LEAST(2, 0)
using OptimizerStateKey = void*;
inline OptimizerStateKey optimizer_state_key(const at::Tensor& p) {
  return p.unsafeGetTensorImpl();
}
#else
using OptimizerStateKey = std::string;
inline OptimizerStateKey optimizer_state_key(const at::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}
#endif

/// Optimizer::zero_grad(set_to_none): 1.13 only zeroes; 2.x takes the flag (default true).
inline void zero_grad(torch::optim::Optimizer& optimizer, bool set_to_none) {
#if FABRIC_TORCH_AT_LEAST(2, 0)
  optimizer.zero_grad(set_to_none);
#else
  if (!set_to_none) return optimizer.zero_grad();
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) p.mutable_grad().reset();
  }
#endif
}

/// A process group over a TCPStore at address:port (rank 0 hosts the store): "gloo" on CPU,
/// "nccl" on CUDA (2.x CUDA builds). 1.13's ProcessGroupGloo is a ProcessGroup; 2.x wraps a
/// Backend in a ProcessGroup. Implemented in compat/c10d_compat.cpp.
/// Under torchrun (TORCHELASTIC_USE_AGENT_STORE=True) the agent hosts the store: every rank is a
/// client and keys live under "/worker/attempt_<restart count>", as in PyTorch's env:// init.
c10::intrusive_ptr<c10d::ProcessGroup> new_process_group(const std::string& backend,
                                                         const std::string& address, int port,
                                                         int rank, int world_size,
                                                         std::chrono::milliseconds timeout);

/// Whether ATen has the fused Adam/AdamW kernels for `device` (2.0: CUDA; 2.4: CPU too).
bool has_fused_adam(c10::DeviceType device);

/// One fused Adam step (AdamW's decoupled weight decay with `decoupled`) over lists of
/// parameters and their state, as torch.optim's fused path: `steps` are float step counters,
/// already incremented. Throws NotSupportedError where has_fused_adam is false.
void fused_adam_step(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                     at::TensorList exp_avg_sqs, at::TensorList max_exp_avg_sqs,
                     at::TensorList steps, double lr, double beta1, double beta2,
                     double weight_decay, double eps, bool amsgrad, bool decoupled);

/// Causal attention over [batch, heads, time, head_dim]: softmax(q k^T / sqrt(head_dim) + causal
/// mask) v, with dropout on the weights when `dropout_p` > 0. 2.x runs one fused kernel
/// (at::scaled_dot_product_attention: flash or memory-efficient attention on CUDA, a flash
/// kernel on CPU) that never materialises the [time, time] weights; 1.13 spells the math out.
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double dropout_p);

/// Whether causal_attention runs a fused kernel in this build.
bool has_fused_attention();

/// "1.13.0", "2.11.0", as the headers report it.
std::string torch_version();

}  // namespace fabric::compat
