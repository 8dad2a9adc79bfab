// [metrics] kind = "perplexity": exp of the mean token cross entropy.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct PerplexityMetricConfig {};
}  // namespace

ComponentEntry perplexity_metric_entry() {
  static const auto spec = ParamSpec<PerplexityMetricConfig>(
      "metrics", "perplexity", "exp of the mean token cross entropy.");
  return {"metrics", "perplexity", &spec};
}

}  // namespace fabric::exp::components
