// The [loss] and [[metrics]] components. Metrics accumulate sums on each rank and are reduced
// once at the end of an evaluation, so values are exact across DDP ranks (validation data is
// sharded without padding).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/component_factories.hpp"
#include "engine/datasets.hpp"

namespace fabric::engine {

/// Loss of model outputs against targets, averaged over the batch (or tokens).
using LossFn = std::function<at::Tensor(const at::Tensor& output, const at::Tensor& target)>;

/// A training loss, and what it asks of the model's output.
struct Loss {
  LossFn fn{};
  bool binary_logit = false;  // two classes take one logit (binary cross entropy)
};

/// [loss]: scored on the data's targets (absent: cross_entropy).
struct LossFamily {
  static constexpr const char* table = "loss";
  using Product = Loss;
  using Context = const DataInfo;
};

/// A metric: a (numerator, denominator) pair per batch, summed over batches and ranks, then
/// finished into a value.
struct Metric {
  std::string name{};
  std::function<std::pair<double, double>(const at::Tensor&, const at::Tensor&)> batch;
  std::function<double(double num, double den)> finish;
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

 private:
  std::vector<Metric> metrics_;
  std::vector<double> sums_;
};

void add_loss_factories(ComponentFactories& factories);
void add_metric_factories(ComponentFactories& factories);

}  // namespace fabric::engine
