// [scheduler] kind = "step": Multiply by gamma every step_size intervals.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct StepSchedulerConfig : ScheduleParams {
  int64_t step_size = 10;
  double gamma = 0.1;
};
}  // namespace

ComponentEntry step_scheduler_entry() {
  static const auto spec = add_schedule_params(
      ParamSpec<StepSchedulerConfig>("scheduler", "step",
                                     "Multiply by gamma every step_size intervals.")
          .param(&StepSchedulerConfig::step_size, "step_size", "Interval count between decays.")
          .check(ge(1))
          .param(&StepSchedulerConfig::gamma, "gamma", "Decay factor.")
          .check(gt(0)));
  return {"scheduler", "step", &spec};
}

}  // namespace fabric::exp::components
