// [scheduler] kind = "constant": Constant learning rate.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct ConstantSchedulerConfig {
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry constant_scheduler_entry() {
  static const auto spec =
      ParamSpec<ConstantSchedulerConfig>("scheduler", "constant", "Constant learning rate.")
          .param(&ConstantSchedulerConfig::warmup_steps, "warmup_steps",
                 "Linear warm-up from 0 over this many steps.")
          .check(ge(0))
          .param(&ConstantSchedulerConfig::interval, "interval",
                 "Step the schedule per optimizer step or per epoch.")
          .choices({"step", "epoch"});
  return {"scheduler", "constant", &spec};
}

}  // namespace fabric::exp::components
