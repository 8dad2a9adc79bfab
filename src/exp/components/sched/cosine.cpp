// [scheduler] kind = "cosine": Cosine annealing to eta_min over the run.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct CosineSchedulerConfig {
  double eta_min = 0.0;
  int64_t warmup_steps = 0;
  std::string interval = "step";
};
}  // namespace

ComponentEntry cosine_scheduler_entry() {
  static const auto spec =
      ParamSpec<CosineSchedulerConfig>("scheduler", "cosine",
                                       "Cosine annealing to eta_min over the run.")
          .param(&CosineSchedulerConfig::eta_min, "eta_min", "Final learning rate.")
          .check(ge(0))
          .param(&CosineSchedulerConfig::warmup_steps, "warmup_steps",
                 "Linear warm-up from 0 over this many steps.")
          .check(ge(0))
          .param(&CosineSchedulerConfig::interval, "interval",
                 "Step the schedule per optimizer step or per epoch.")
          .choices({"step", "epoch"});
  return {"scheduler", "cosine", &spec};
}

}  // namespace fabric::exp::components
