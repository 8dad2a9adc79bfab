// [scheduler] kind = "cosine": Cosine annealing to eta_min over the run.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CosineSchedulerConfig : ScheduleParams {
  double eta_min = 0.0;
};

inline const auto& cosine_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<CosineSchedulerConfig>("scheduler", "cosine",
                                       "Cosine annealing to eta_min over the run.")
          .param(&CosineSchedulerConfig::eta_min, "eta_min", "Final learning rate.")
          .check(ge(0)));
  return spec;
}

}  // namespace fabric::exp::components
