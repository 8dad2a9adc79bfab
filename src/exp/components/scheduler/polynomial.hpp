// [scheduler] kind = "polynomial": PyTorch's PolynomialLR, the factor (1 - t/total)^power.
#pragma once

#include "exp/components/scheduler/schedule_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct PolynomialSchedulerConfig : ScheduleParams {
  double power = 1.0;
};

inline const auto& polynomial_scheduler_spec() {
  static const auto spec = add_schedule_params(
      ParamSpec<PolynomialSchedulerConfig>(
          "scheduler", "polynomial",
          "Decays the rate by (1 - t/total)^power to 0 at the end of the run (PolynomialLR).")
          .param(&PolynomialSchedulerConfig::power, "power", "The polynomial's power.")
          .check(gt(0)));
  return spec;
}

}  // namespace fabric::exp::components
