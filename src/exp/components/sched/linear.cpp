// [scheduler] kind = "linear": Linear ramp of the factor from start_factor to end_factor.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct LinearSchedulerConfig {
  double start_factor = 1.0;
  double end_factor = 0.0;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry linear_scheduler_entry() {
  static const auto spec =
      ParamSpec<LinearSchedulerConfig>("scheduler", "linear",
                                       "Linear ramp of the factor from start_factor to end_factor.")
          .param(&LinearSchedulerConfig::start_factor, "start_factor", "Factor at the start.")
          .check(gt(0))
          .param(&LinearSchedulerConfig::end_factor, "end_factor", "Factor at the end.")
          .check(ge(0))
          .param(&LinearSchedulerConfig::warmup_steps, "warmup_steps",
                 "Linear warm-up from 0 over this many steps.")
          .check(ge(0))
          .param(&LinearSchedulerConfig::interval, "interval",
                 "Step the schedule per optimizer step or per epoch.")
          .choices({"step", "epoch"});
  return {"scheduler", "linear", &spec};
}

}  // namespace fabric::exp::components
