// [metrics] kind = "mse": Mean squared error.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MseMetricConfig {};

inline const auto& mse_metric_spec() {
  static const auto spec = ParamSpec<MseMetricConfig>("metrics", "mse", "Mean squared error.")
                               .needs_tasks({"regression"});
  return spec;
}

}  // namespace fabric::exp::components
