// Dynamic loss scaling for fp16 mixed precision (torch.cuda.amp.GradScaler's algorithm):
// scale the loss, unscale gradients once per step (before clipping), skip the step when any
// gradient is inf/NaN, and grow or back off the scale. Uses ATen's fused kernels where LibTorch
// has them (CUDA; CPU from 2.x) and a portable tensor-op path elsewhere.
#pragma once

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <map>

#include "fabric/base/stateful.hpp"

namespace fabric {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler : public Stateful {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  /// loss * scale (the scale lives on the loss's device).
  at::Tensor scale(const at::Tensor& loss);
  /// Divides the optimizer's gradients by the scale and records whether any was inf/NaN.
  /// Throws if called twice for one optimizer before update().
  void unscale_(torch::optim::Optimizer& optimizer);
  /// Unscales if not done yet, then steps unless a gradient was inf/NaN. Returns whether it
  /// stepped.
  bool step(torch::optim::Optimizer& optimizer);
  /// Grows the scale after `growth_interval` clean steps, backs it off after a skipped one.
  void update();

  double get_scale() const;
  int64_t growth_tracker() const;
  /// Combines this process's inf/NaN flag with the other ranks' (set under fsdp, where each rank
  /// sees only its gradient shards: one rank's inf must skip the step everywhere, as PyTorch's
  /// ShardedGradScaler does).
  void set_found_inf_reducer(std::function<void(at::Tensor&)> reducer) {
    found_inf_reducer_ = std::move(reducer);
  }
  /// Number of optimizer steps skipped because of inf/NaN gradients since construction.
  int64_t skipped_steps() const { return skipped_steps_; }

  /// Python GradScaler's layout: scale, growth_factor, backoff_factor, growth_interval,
  /// _growth_tracker.
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

 private:
  enum class Stage { Ready, Unscaled, Stepped };
  struct PerOptimizer {
    Stage stage = Stage::Ready;
    at::Tensor found_inf{};
  };
  void lazy_init(const c10::Device& device);

  GradScalerOptions options_;
  at::Tensor scale_;           // 1-element fp32
  at::Tensor growth_tracker_;  // 1-element int32
  std::map<const torch::optim::Optimizer*, PerOptimizer> per_optimizer_;
  int64_t skipped_steps_ = 0;
  std::function<void(at::Tensor&)> found_inf_reducer_;
  double loaded_scale_ = -1;
  int64_t loaded_tracker_ = 0;
};

}  // namespace fabric
