// [scheduler] kind = "one_cycle": One-cycle policy (warm up to max_lr, then anneal).
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct OneCycleSchedulerConfig {
  double max_lr = 0.01;
  double pct_start = 0.3;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry one_cycle_scheduler_entry() {
  static const auto spec =
      ParamSpec<OneCycleSchedulerConfig>("scheduler", "one_cycle",
                                         "One-cycle policy (warm up to max_lr, then anneal).")
          .param(&OneCycleSchedulerConfig::max_lr, "max_lr", "Peak learning rate.")
          .check(gt(0))
          .param(&OneCycleSchedulerConfig::pct_start, "pct_start",
                 "Fraction of the run spent warming up.")
          .check(gt(0))
          .check(lt(1))
          .param(&OneCycleSchedulerConfig::warmup_steps, "warmup_steps",
                 "Linear warm-up from 0 over this many steps.")
          .check(ge(0))
          .param(&OneCycleSchedulerConfig::interval, "interval",
                 "Step the schedule per optimizer step or per epoch.")
          .choices({"step", "epoch"});
  return {"scheduler", "one_cycle", &spec};
}

}  // namespace fabric::exp::components
