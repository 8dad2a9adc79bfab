// [metrics] kind = "mae": Mean absolute error.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MaeMetricConfig {};
}  // namespace

ComponentEntry mae_metric_entry() {
  static const auto spec = ParamSpec<MaeMetricConfig>("metrics", "mae", "Mean absolute error.");
  return {"metrics", "mae", &spec};
}

}  // namespace fabric::exp::components
