// [scheduler] kind = "step": Multiply by gamma every step_size intervals.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct StepSchedulerConfig {
  int64_t step_size = 10;
  double gamma = 0.1;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry step_scheduler_entry() {
  static const auto spec =
      ParamSpec<StepSchedulerConfig>("scheduler", "step",
                                     "Multiply by gamma every step_size intervals.")
          .param(&StepSchedulerConfig::step_size, "step_size", "Interval count between decays.")
          .check(ge(1))
          .param(&StepSchedulerConfig::gamma, "gamma", "Decay factor.")
          .check(gt(0))
          .param(&StepSchedulerConfig::warmup_steps, "warmup_steps",
                 "Linear warm-up from 0 over this many steps.")
          .check(ge(0))
          .param(&StepSchedulerConfig::interval, "interval",
                 "Step the schedule per optimizer step or per epoch.")
          .choices({"step", "epoch"});
  return {"scheduler", "step", &spec};
}

}  // namespace fabric::exp::components
