// [metrics] kind = "accuracy": Fraction of correct argmax predictions.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct AccuracyMetricConfig {};

inline const auto& accuracy_metric_spec() {
  static const auto spec = ParamSpec<AccuracyMetricConfig>(
                               "metrics", "accuracy", "Fraction of correct argmax predictions.")
                               .needs_tasks({"classification", "language_model"});
  return spec;
}

}  // namespace fabric::exp::components
