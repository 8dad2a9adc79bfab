// [metrics] kind = "top_k_accuracy": Fraction of targets among the k best predictions.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TopKAccuracyMetricConfig {
  int64_t k = 5;
};
}  // namespace

ComponentEntry top_k_accuracy_metric_entry() {
  static const auto spec =
      ParamSpec<TopKAccuracyMetricConfig>("metrics", "top_k_accuracy",
                                          "Fraction of targets among the k best predictions.")
          .param(&TopKAccuracyMetricConfig::k, "k", "How many predictions count.")
          .check(ge(1));
  return {"metrics", "top_k_accuracy", &spec};
}

}  // namespace fabric::exp::components
