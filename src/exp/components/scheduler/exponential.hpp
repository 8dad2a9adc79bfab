// [scheduler] kind = "exponential": Multiply by gamma every interval.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct ExponentialSchedulerConfig : ScheduleParams {
  double gamma = 0.99;
};

inline const auto& exponential_scheduler_spec() {
  static const auto spec =
      add_schedule_params(ParamSpec<ExponentialSchedulerConfig>("scheduler", "exponential",
                                                                "Multiply by gamma every interval.")
                              .param(&ExponentialSchedulerConfig::gamma, "gamma", "Decay factor.")
                              .check(gt(0)));
  return spec;
}

}  // namespace fabric::exp::components
