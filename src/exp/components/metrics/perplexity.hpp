// [metrics] kind = "perplexity": exp of the mean token cross entropy.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct PerplexityMetricConfig {};

inline const auto& perplexity_metric_spec() {
  static const auto spec = ParamSpec<PerplexityMetricConfig>("metrics", "perplexity",
                                                             "exp of the mean token cross entropy.")
                               .needs_tasks({"classification", "language_model"});
  return spec;
}

}  // namespace fabric::exp::components
