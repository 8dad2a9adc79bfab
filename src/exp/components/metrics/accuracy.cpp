// [metrics] kind = "accuracy": Fraction of correct argmax predictions.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct AccuracyMetricConfig {};
}  // namespace

ComponentEntry accuracy_metric_entry() {
  static const auto spec = ParamSpec<AccuracyMetricConfig>(
      "metrics", "accuracy", "Fraction of correct argmax predictions.");
  return {"metrics", "accuracy", &spec};
}

}  // namespace fabric::exp::components
