// [scheduler] kind = "multistep": Multiply by gamma at each milestone.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct MultistepSchedulerConfig : ScheduleParams {
  std::vector<int64_t> milestones = {};
  double gamma = 0.1;
};
}  // namespace

ComponentEntry multistep_scheduler_entry() {
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
  return {"scheduler", "multistep", &spec};
}

}  // namespace fabric::exp::components
