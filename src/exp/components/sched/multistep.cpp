// [scheduler] kind = "multistep": Multiply by gamma at each milestone.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MultistepSchedulerConfig {
  std::vector<int64_t> milestones = {};
  double gamma = 0.1;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry multistep_scheduler_entry() {
  static const auto spec = ParamSpec<MultistepSchedulerConfig>(
                               "scheduler", "multistep", "Multiply by gamma at each milestone.")
                               .param(&MultistepSchedulerConfig::milestones, "milestones",
                                      "Intervals at which to decay.")
                               .required()
                               .check(ge(1))
                               .nonempty()
                               .param(&MultistepSchedulerConfig::gamma, "gamma", "Decay factor.")
                               .check(gt(0))
                               .param(&MultistepSchedulerConfig::warmup_steps, "warmup_steps",
                                      "Linear warm-up from 0 over this many steps.")
                               .check(ge(0))
                               .param(&MultistepSchedulerConfig::interval, "interval",
                                      "Step the schedule per optimizer step or per epoch.")
                               .choices({"step", "epoch"});
  return {"scheduler", "multistep", &spec};
}

}  // namespace fabric::exp::components
