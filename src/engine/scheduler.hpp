// The [scheduler] components. Schedules are pure functions of the step (or epoch) index, so a
// resumed run recomputes the learning rate instead of restoring it.
#pragma once

#include <torch/optim/optimizer.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/component_factories.hpp"
#include "exp/components/scheduler/schedule_params.hpp"

namespace fabric::engine {

/// The run's length, in optimizer steps and epochs (for cosine, linear, one-cycle).
struct RunLength {
  int64_t total_steps = 1, total_epochs = 1;
};

class Schedule;
/// [scheduler]: a Schedule over the run's length.
struct SchedulerFamily {
  static constexpr const char* table = "scheduler";
  using Product = Schedule;
  using Context = const RunLength;
};

class Schedule {
 public:
  /// The learning rate at t of total (steps or epochs after warm-up) for a base rate.
  using Rule = std::function<double(double base, double t, double total)>;

  /// No [scheduler] table: a constant learning rate.
  Schedule() = default;
  Schedule(const exp::components::ScheduleParams& common, Rule rule, const RunLength& length);

  /// Remembers the optimizer's configured learning rates (before any checkpoint is loaded
  /// into it) as the bases of the schedule.
  void bind(const torch::optim::Optimizer& optimizer);
  /// Sets every group's lr for optimizer step `step` (0-based) in epoch `epoch`.
  void apply(torch::optim::Optimizer& optimizer, int64_t step, int64_t epoch);
  /// The learning rate of `base` at that point (for tests and the lr monitor).
  double lr(double base, int64_t step, int64_t epoch) const;

 private:
  Rule rule_;
  std::string interval_ = "step";
  int64_t warmup_ = 0, total_steps_ = 1, total_epochs_ = 1;
  std::vector<double> base_lrs_;
};

void add_scheduler_factories(ComponentFactories& factories);

}  // namespace fabric::engine
