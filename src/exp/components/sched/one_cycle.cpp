// [scheduler] kind = "one_cycle": One-cycle policy (warm up to max_lr, then anneal).
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct OneCycleSchedulerConfig : ScheduleParams {
  double max_lr = 0.01;
  double pct_start = 0.3;
};
}  // namespace

ComponentEntry one_cycle_scheduler_entry() {
  static const auto spec = add_schedule_params(
      ParamSpec<OneCycleSchedulerConfig>("scheduler", "one_cycle",
                                         "One-cycle policy (warm up to max_lr, then anneal).")
          .param(&OneCycleSchedulerConfig::max_lr, "max_lr", "Peak learning rate.")
          .check(gt(0))
          .param(&OneCycleSchedulerConfig::pct_start, "pct_start",
                 "Fraction of the run spent warming up.")
          .check(gt(0))
          .check(lt(1)));
  return {"scheduler", "one_cycle", &spec};
}

}  // namespace fabric::exp::components
