// Parameters every [scheduler] kind shares: warm-up and how often the schedule steps.
#pragma once

#include "exp/recipe/registry.hpp"

namespace fabric::exp::components {

struct ScheduleParams {
  int64_t warmup_steps = 0;
  std::string interval = "step";
};

/// Appends the warm-up and interval parameters to a spec whose Config derives from ScheduleParams.
template <class Config>
ParamSpec<Config> add_schedule_params(ParamSpec<Config> spec) {
  return spec
      .template param<int64_t>(&Config::warmup_steps, "warmup_steps",
                               "Linear warm-up from 0 over this many steps.")
      .check(ge(0))
      .template param<std::string>(&Config::interval, "interval",
                                   "Step the schedule per optimizer step or per epoch.")
      .choices({"step", "epoch"});
}

}  // namespace fabric::exp::components
