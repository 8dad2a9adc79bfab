// [metrics] kind = "mse": Mean squared error.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MseMetricConfig {};
}  // namespace

ComponentEntry mse_metric_entry() {
  static const auto spec = ParamSpec<MseMetricConfig>("metrics", "mse", "Mean squared error.");
  return {"metrics", "mse", &spec};
}

}  // namespace fabric::exp::components
