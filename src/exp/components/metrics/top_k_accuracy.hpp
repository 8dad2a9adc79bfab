// [metrics] kind = "top_k_accuracy": Fraction of targets among the k best predictions.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TopKAccuracyMetricConfig {
  int64_t k = 5;
};

inline const auto& top_k_accuracy_metric_spec() {
  static const auto spec =
      ParamSpec<TopKAccuracyMetricConfig>("metrics", "top_k_accuracy",
                                          "Fraction of targets among the k best predictions.")
          .needs_tasks({"classification", "language_model"})
          .param(&TopKAccuracyMetricConfig::k, "k", "How many predictions count.")
          .check(ge(1));
  return spec;
}

}  // namespace fabric::exp::components
