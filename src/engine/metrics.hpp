// The [[metrics]] components. Metrics accumulate sums on each rank and are reduced once at the
// end of an evaluation, so values are exact across DDP ranks (validation data is sharded without
// padding).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/component_factories.hpp"
#include "engine/data.hpp"
#include "engine/loss.hpp"

namespace fabric::engine {

/// A metric: a (numerator, denominator) pair per batch, summed over batches and ranks, then
/// finished into a value.
struct Metric {
  std::string name{};
  std::function<std::pair<double, double>(const at::Tensor&, const at::Tensor&)> batch;
  std::function<double(double num, double den)> finish;
  bool lower_is_better = false;  // declared by the metric: what its "best" value is
};

/// What a metric factory checks its component against.
struct MetricContext {
  DataInfo info{};
  std::string where{};  // "metrics[1]", for messages
};

/// [[metrics]]
struct MetricFamily {
  static constexpr const char* table = "metrics";
  using Product = Metric;
  using Context = const MetricContext;
};

/// Per-batch sums: for each metric a (numerator, denominator) pair.
class MetricSet {
 public:
  /// `loss` is always tracked as "loss"; the [[metrics]] add theirs.
  MetricSet(std::vector<Metric> metrics, const LossFn& loss);

  void reset();
  void update(const at::Tensor& output, const at::Tensor& target);
  /// The sums as one tensor (what is all-reduced across ranks)...
  at::Tensor sums() const;
  /// ...and the values computed from (reduced) sums, keyed "<prefix>/<name>".
  std::map<std::string, double> values(const at::Tensor& sums, const std::string& prefix) const;
  /// Each metric's declared direction, keyed "<prefix>/<name>" as values() keys them.
  std::map<std::string, bool> lower_is_better(const std::string& prefix) const;

 private:
  std::vector<Metric> metrics_;
  std::vector<double> sums_;
};

void add_metric_factories(ComponentFactories& factories);

}  // namespace fabric::engine
