// [scheduler] kind = "linear": Linear ramp of the factor from start_factor to end_factor.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct LinearSchedulerConfig : ScheduleParams {
  double start_factor = 1.0;
  double end_factor = 0.0;
};

inline const auto& linear_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<LinearSchedulerConfig>("scheduler", "linear",
                                       "Linear ramp of the factor from start_factor to end_factor.")
          .param(&LinearSchedulerConfig::start_factor, "start_factor", "Factor at the start.")
          .check(gt(0))
          .param(&LinearSchedulerConfig::end_factor, "end_factor", "Factor at the end.")
          .check(ge(0)));
  return spec;
}

}  // namespace fabric::exp::components
