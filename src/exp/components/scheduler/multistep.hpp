// [scheduler] kind = "multistep": Multiply by gamma at each milestone.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MultistepSchedulerConfig : ScheduleParams {
  std::vector<int64_t> milestones = {};
  double gamma = 0.1;
};

inline const auto& multistep_scheduler_spec() {
  static const auto spec =
      add_schedule_params(ParamSpec<MultistepSchedulerConfig>(
                              "scheduler", "multistep", "Multiply by gamma at each milestone.")
                              .param(&MultistepSchedulerConfig::milestones, "milestones",
                                     "Intervals at which to decay.")
                              .required()
                              .check(ge(1))
                              .nonempty()
                              .param(&MultistepSchedulerConfig::gamma, "gamma", "Decay factor.")
                              .check(gt(0)));
  return spec;
}

}  // namespace fabric::exp::components
