// [scheduler] kind = "step": Multiply by gamma every step_size intervals.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct StepSchedulerConfig : ScheduleParams {
  int64_t step_size = 10;
  double gamma = 0.1;
};

inline const auto& step_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<StepSchedulerConfig>("scheduler", "step",
                                     "Multiply by gamma every step_size intervals.")
          .param(&StepSchedulerConfig::step_size, "step_size", "Interval count between decays.")
          .check(ge(1))
          .param(&StepSchedulerConfig::gamma, "gamma", "Decay factor.")
          .check(gt(0)));
  return spec;
}

}  // namespace fabric::exp::components
