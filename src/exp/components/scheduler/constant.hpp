// [scheduler] kind = "constant": Constant learning rate.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct ConstantSchedulerConfig : ScheduleParams {};

inline const auto& constant_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<ConstantSchedulerConfig>("scheduler", "constant", "Constant learning rate."));
  return spec;
}

}  // namespace fabric::exp::components
