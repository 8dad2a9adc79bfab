// The [optimizer] and [scheduler] components. Schedules are pure functions of the step (or
// epoch) index, so a resumed run recomputes the learning rate instead of restoring it.
#pragma once

#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <optional>

#include "engine/models.hpp"
#include "engine/params.hpp"

namespace fabric::engine {

/// With no_decay_bias_norm, parameters of one dimension (biases, norm scales) get their own
/// group without weight decay.
std::shared_ptr<torch::optim::Optimizer> build_optimizer(const Params& optimizer, NetImpl& model);

class Schedule {
 public:
  /// No [scheduler] table: a constant learning rate.
  Schedule() = default;
  /// `total_steps` and `total_epochs` are the run's length (for cosine, linear, one-cycle).
  Schedule(const Params& scheduler, int64_t total_steps, int64_t total_epochs);

  /// Remembers the optimizer's configured learning rates (before any checkpoint is loaded
  /// into it) as the bases of the schedule.
  void bind(const torch::optim::Optimizer& optimizer);
  /// Sets every group's lr for optimizer step `step` (0-based) in epoch `epoch`.
  void apply(torch::optim::Optimizer& optimizer, int64_t step, int64_t epoch);
  /// The learning rate of `base` at that point (for tests and the lr monitor).
  double lr(double base, int64_t step, int64_t epoch) const;

 private:
  std::function<double(double base, double t, double total)> rule_;
  std::string interval_ = "step";
  int64_t warmup_ = 0, total_steps_ = 1, total_epochs_ = 1;
  std::vector<double> base_lrs_;
};

double group_lr(const torch::optim::OptimizerParamGroup& group);
void set_group_lr(torch::optim::OptimizerParamGroup& group, double lr);

}  // namespace fabric::engine
