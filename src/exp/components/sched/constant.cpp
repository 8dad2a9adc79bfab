// [scheduler] kind = "constant": Constant learning rate.
#include "exp/components/entries.hpp"
#include "exp/components/sched/schedule_params.hpp"

namespace fabric::exp::components {

namespace {
struct ConstantSchedulerConfig : ScheduleParams {};
}  // namespace

ComponentEntry constant_scheduler_entry() {
  static const auto spec = add_schedule_params(
      ParamSpec<ConstantSchedulerConfig>("scheduler", "constant", "Constant learning rate."));
  return {"scheduler", "constant", &spec};
}

}  // namespace fabric::exp::components
