// [scheduler] kind = "exponential": Multiply by gamma every interval.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct ExponentialSchedulerConfig {
  double gamma = 0.99;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry exponential_scheduler_entry() {
  static const auto spec = ParamSpec<ExponentialSchedulerConfig>(
                               "scheduler", "exponential", "Multiply by gamma every interval.")
                               .param(&ExponentialSchedulerConfig::gamma, "gamma", "Decay factor.")
                               .check(gt(0))
                               .param(&ExponentialSchedulerConfig::warmup_steps, "warmup_steps",
                                      "Linear warm-up from 0 over this many steps.")
                               .check(ge(0))
                               .param(&ExponentialSchedulerConfig::interval, "interval",
                                      "Step the schedule per optimizer step or per epoch.")
                               .choices({"step", "epoch"});
  return {"scheduler", "exponential", &spec};
}

}  // namespace fabric::exp::components
