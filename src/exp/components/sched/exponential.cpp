// [scheduler] kind = "exponential": Multiply by gamma every interval.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct ExponentialSchedulerConfig : ScheduleParams {
  double gamma = 0.99;
};
}  // namespace

ComponentEntry exponential_scheduler_entry() {
  static const auto spec =
      add_schedule_params(ParamSpec<ExponentialSchedulerConfig>("scheduler", "exponential",
                                                                "Multiply by gamma every interval.")
                              .param(&ExponentialSchedulerConfig::gamma, "gamma", "Decay factor.")
                              .check(gt(0)));
  return {"scheduler", "exponential", &spec};
}

}  // namespace fabric::exp::components
