// [metrics] kind = "mae": Mean absolute error.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MaeMetricConfig {};

inline const auto& mae_metric_spec() {
  static const auto spec = ParamSpec<MaeMetricConfig>("metrics", "mae", "Mean absolute error.")
                               .needs_tasks({"regression"});
  return spec;
}

}  // namespace fabric::exp::components
