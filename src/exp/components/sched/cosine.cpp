// [scheduler] kind = "cosine": Cosine annealing to eta_min over the run.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct CosineSchedulerConfig : ScheduleParams {
  double eta_min = 0.0;
};
}  // namespace

ComponentEntry cosine_scheduler_entry() {
  static const auto spec = add_schedule_params(
      ParamSpec<CosineSchedulerConfig>("scheduler", "cosine",
                                       "Cosine annealing to eta_min over the run.")
          .param(&CosineSchedulerConfig::eta_min, "eta_min", "Final learning rate.")
          .check(ge(0)));
  return {"scheduler", "cosine", &spec};
}

}  // namespace fabric::exp::components
