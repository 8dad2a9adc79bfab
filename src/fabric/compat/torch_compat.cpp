#include "fabric/compat/torch_compat.hpp"

#include <ATen/autocast_mode.h>

#include <cmath>

#include "common/error.hpp"

namespace fabric::compat {

#if FABRIC_TORCH_AT_LEAST(2, 4)

void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  at::autocast::set_autocast_enabled(device, enabled);
}
bool is_autocast_enabled(c10::DeviceType device) {
  return at::autocast::is_autocast_enabled(device);
}
void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
}
at::ScalarType get_autocast_dtype(c10::DeviceType device) {
  return at::autocast::get_autocast_dtype(device);
}
bool autocast_supports(c10::DeviceType device, at::ScalarType dtype) {
  return dtype == at::kBFloat16 || dtype == at::kHalf;
}
bool has_fused_amp_kernels(c10::DeviceType device) {
  return device == c10::kCUDA || device == c10::kCPU;
}

#else

void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  if (device == c10::kCPU) {
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_enabled(enabled);
  }
}
bool is_autocast_enabled(c10::DeviceType device) {
  return device == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  if (device == c10::kCPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
}
at::ScalarType get_autocast_dtype(c10::DeviceType device) {
  return device == c10::kCPU ? at::autocast::get_autocast_cpu_dtype()
                             : at::autocast::get_autocast_gpu_dtype();
}
bool autocast_supports(c10::DeviceType device, at::ScalarType dtype) {
  // LibTorch 1.13 warns "Currently, AutocastCPU only support Bfloat16" for anything else.
  if (device == c10::kCPU) return dtype == at::kBFloat16;
  return dtype == at::kBFloat16 || dtype == at::kHalf;
}
bool has_fused_amp_kernels(c10::DeviceType device) {
  return device == c10::kCUDA;
}

#endif

bool has_fused_adam(c10::DeviceType device) {
#if FABRIC_TORCH_AT_LEAST(2, 4)
  return device == c10::kCUDA || device == c10::kCPU;
#elif FABRIC_TORCH_AT_LEAST(2, 0)
  return device == c10::kCUDA;
#else
  return false;
#endif
}

void fused_adam_step(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                     at::TensorList exp_avg_sqs, at::TensorList max_exp_avg_sqs,
                     at::TensorList steps, double lr, double beta1, double beta2,
                     double weight_decay, double eps, bool amsgrad, bool decoupled) {
#if FABRIC_TORCH_AT_LEAST(2, 0)
  if (decoupled) {
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                      beta2, weight_decay, eps, amsgrad, /*maximize=*/false);
  } else {
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
                     weight_decay, eps, amsgrad, /*maximize=*/false);
  }
#else
  throw NotSupportedError("the fused Adam kernel needs LibTorch >= 2.0");
#endif
}

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double dropout_p) {
#if FABRIC_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, dropout_p, /*is_causal=*/true);
#else
  const int64_t t = q.size(-2);
  auto future = at::ones({t, k.size(-2)}, q.options().dtype(at::kBool)).triu(1);
  auto weights = q.matmul(k.transpose(-2, -1)).div_(std::sqrt(double(q.size(-1))));
  weights = at::softmax(weights.masked_fill_(future, -INFINITY), -1);
  if (dropout_p > 0) weights = at::dropout(weights, dropout_p, /*train=*/true);
  return weights.matmul(v);
#endif
}

bool has_fused_attention() {
  return FABRIC_TORCH_AT_LEAST(2, 0);
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace fabric::compat
