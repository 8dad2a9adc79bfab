#include "engine/metrics.hpp"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "common/error.hpp"
#include "exp/components/metrics/accuracy.hpp"
#include "exp/components/metrics/mae.hpp"
#include "exp/components/metrics/mse.hpp"
#include "exp/components/metrics/perplexity.hpp"
#include "exp/components/metrics/top_k_accuracy.hpp"

namespace fabric::engine {

namespace F = torch::nn::functional;

namespace {

double mean(double num, double den) {
  return den > 0 ? num / den : NAN;
}

/// A metric's requirement on the data, checked when the metric is built.
void need(bool ok, const MetricContext& context, const std::string& kind, const std::string& what) {
  if (!ok) throw ValueError("[" + context.where + "] kind '" + kind + "' needs " + what);
}

/// Correct predictions among the k largest logits (binary logits: the sign).
Metric top_k(const std::string& name, int64_t k) {
  return {name,
          [k](const at::Tensor& out, const at::Tensor& target) {
            auto [o, t] = flat_tokens(out, target);
            if (o.size(-1) == 1) {  // binary logits
              auto correct = o.squeeze(-1).gt(0).to(at::kLong).eq(t).sum();
              return std::make_pair(correct.item<double>(), double(t.numel()));
            }
            auto top = std::get<1>(o.topk(std::min<int64_t>(k, o.size(-1)), -1));
            auto correct = top.eq(t.unsqueeze(-1)).any(-1).sum();
            return std::make_pair(correct.item<double>(), double(t.numel()));
          },
          mean};
}

Metric regression_error(const std::string& name, bool squared) {
  return {name,
          [squared](const at::Tensor& out, const at::Tensor& target) {
            auto diff = out.to(at::kFloat) - target.to(at::kFloat).view(out.sizes());
            auto total = squared ? diff.square().sum() : diff.abs().sum();
            return std::make_pair(total.item<double>(), double(diff.numel()));
          },
          mean, /*lower_is_better=*/true};
}

}  // namespace

void add_metric_factories(ComponentFactories& f) {
  using namespace exp::components;
  const std::string classes = "class targets; the data is a regression task";
  f.add<MetricFamily>(accuracy_metric_spec(),
                      [classes](const AccuracyMetricConfig&, const MetricContext& context) {
                        need(context.info.task != Task::Regression, context, "accuracy", classes);
                        return top_k("accuracy", 1);
                      });
  f.add<MetricFamily>(top_k_accuracy_metric_spec(), [classes](const TopKAccuracyMetricConfig& c,
                                                              const MetricContext& context) {
    need(context.info.task != Task::Regression, context, "top_k_accuracy", classes);
    return top_k("top_k_accuracy", c.k);
  });
  f.add<MetricFamily>(mse_metric_spec(), [](const MseMetricConfig&, const MetricContext& context) {
    need(context.info.task == Task::Regression, context, "mse", "a regression task");
    return regression_error("mse", true);
  });
  f.add<MetricFamily>(mae_metric_spec(), [](const MaeMetricConfig&, const MetricContext& context) {
    need(context.info.task == Task::Regression, context, "mae", "a regression task");
    return regression_error("mae", false);
  });
  f.add<MetricFamily>(perplexity_metric_spec(), [](const PerplexityMetricConfig&,
                                                   const MetricContext& context) {
    need(context.info.task != Task::Regression, context, "perplexity", "class or token targets");
    return Metric{"perplexity",
                  [](const at::Tensor& out, const at::Tensor& target) {
                    auto [o, t] = flat_tokens(out.to(at::kFloat), target);
                    auto nll =
                        F::cross_entropy(o, t, F::CrossEntropyFuncOptions().reduction(torch::kSum));
                    return std::make_pair(nll.item<double>(), double(t.numel()));
                  },
                  [](double num, double den) { return den > 0 ? std::exp(num / den) : NAN; },
                  /*lower_is_better=*/true};
  });
}

MetricSet::MetricSet(std::vector<Metric> metrics, const LossFn& loss) {
  metrics_.push_back(
      {"loss",
       [loss](const at::Tensor& out, const at::Tensor& target) {
         const double n = double(out.dim() == 3 ? out.size(0) * out.size(1) : out.size(0));
         return std::make_pair(loss(out.to(at::kFloat), target).item<double>() * n, n);
       },
       mean, /*lower_is_better=*/true});
  for (auto& m : metrics) metrics_.push_back(std::move(m));
  reset();
}

void MetricSet::reset() {
  sums_.assign(metrics_.size() * 2, 0.0);
}

void MetricSet::update(const at::Tensor& output, const at::Tensor& target) {
  for (size_t i = 0; i < metrics_.size(); ++i) {
    auto [num, den] = metrics_[i].batch(output, target);
    sums_[2 * i] += num;
    sums_[2 * i + 1] += den;
  }
}

at::Tensor MetricSet::sums() const {
  return at::tensor(c10::ArrayRef<double>(sums_), at::kDouble);
}

std::map<std::string, double> MetricSet::values(const at::Tensor& sums,
                                                const std::string& prefix) const {
  auto s = sums.to(at::kCPU).to(at::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  std::map<std::string, double> out;
  for (size_t i = 0; i < metrics_.size(); ++i) {
    out[prefix + "/" + metrics_[i].name] = metrics_[i].finish(v[2 * i], v[2 * i + 1]);
  }
  return out;
}

std::map<std::string, bool> MetricSet::lower_is_better(const std::string& prefix) const {
  std::map<std::string, bool> out;
  for (const auto& m : metrics_) out[prefix + "/" + m.name] = m.lower_is_better;
  return out;
}

}  // namespace fabric::engine
