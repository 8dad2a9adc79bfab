// [scheduler] kind = "one_cycle": One-cycle policy (warm up to max_lr, then anneal).
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct OneCycleSchedulerConfig : ScheduleParams {
  double max_lr = 0.01;
  double pct_start = 0.3;
};

inline const auto& one_cycle_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<OneCycleSchedulerConfig>("scheduler", "one_cycle",
                                         "One-cycle policy (warm up to max_lr, then anneal).")
          .param(&OneCycleSchedulerConfig::max_lr, "max_lr", "Peak learning rate.")
          .check(gt(0))
          .param(&OneCycleSchedulerConfig::pct_start, "pct_start",
                 "Fraction of the run spent warming up.")
          .check(gt(0))
          .check(lt(1)));
  return spec;
}

}  // namespace fabric::exp::components
