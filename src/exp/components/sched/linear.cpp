// [scheduler] kind = "linear": Linear ramp of the factor from start_factor to end_factor.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct LinearSchedulerConfig : ScheduleParams {
  double start_factor = 1.0;
  double end_factor = 0.0;
};
}  // namespace

ComponentEntry linear_scheduler_entry() {
  static const auto spec = add_schedule_params(
      ParamSpec<LinearSchedulerConfig>("scheduler", "linear",
                                       "Linear ramp of the factor from start_factor to end_factor.")
          .param(&LinearSchedulerConfig::start_factor, "start_factor", "Factor at the start.")
          .check(gt(0))
          .param(&LinearSchedulerConfig::end_factor, "end_factor", "Factor at the end.")
          .check(ge(0)));
  return {"scheduler", "linear", &spec};
}

}  // namespace fabric::exp::components
