// The [loss] and [[metrics]] components. Metrics accumulate sums on each rank and are reduced
// once at the end of an evaluation, so values are exact across DDP ranks (validation data is
// sharded without padding).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/datasets.hpp"
#include "engine/params.hpp"

namespace fabric::engine {

/// Loss of model outputs against targets, averaged over the batch (or tokens).
using LossFn = std::function<at::Tensor(const at::Tensor& output, const at::Tensor& target)>;
LossFn build_loss(const Params& loss, const DataInfo& info);

/// Per-batch sums: for each metric a (numerator, denominator) pair.
class MetricSet {
 public:
  /// `loss` is always tracked as "loss"; the [[metrics]] add theirs.
  MetricSet(const std::vector<Params>& metrics, const LossFn& loss, const DataInfo& info);

  void reset();
  void update(const at::Tensor& output, const at::Tensor& target);
  /// The sums as one tensor (what is all-reduced across ranks)...
  at::Tensor sums() const;
  /// ...and the values computed from (reduced) sums, keyed "<prefix>/<name>".
  std::map<std::string, double> values(const at::Tensor& sums, const std::string& prefix) const;

 private:
  struct Metric {
    std::string name{};
    std::function<std::pair<double, double>(const at::Tensor&, const at::Tensor&)> batch;
    std::function<double(double num, double den)> finish;
  };
  std::vector<Metric> metrics_;
  std::vector<double> sums_;
};

}  // namespace fabric::engine
