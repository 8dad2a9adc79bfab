#include "engine/objectives.hpp"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "exp/components/losses/bce_with_logits.hpp"
#include "exp/components/losses/cross_entropy.hpp"
#include "exp/components/losses/l1.hpp"
#include "exp/components/losses/mse.hpp"
#include "exp/components/losses/nll.hpp"
#include "exp/components/losses/smooth_l1.hpp"
#include "exp/components/metrics/accuracy.hpp"
#include "exp/components/metrics/mae.hpp"
#include "exp/components/metrics/mse.hpp"
#include "exp/components/metrics/perplexity.hpp"
#include "exp/components/metrics/top_k_accuracy.hpp"
#include "fabric/base/error.hpp"

namespace fabric::engine {

namespace F = torch::nn::functional;

namespace {

/// Language-model outputs [B, T, V] against targets [B, T] become [B*T, V] against [B*T].
std::pair<at::Tensor, at::Tensor> flat(const at::Tensor& out, const at::Tensor& target) {
  if (out.dim() == 3) return {out.reshape({-1, out.size(-1)}), target.reshape({-1})};
  return {out, target};
}

at::Tensor as_float_target(const at::Tensor& out, const at::Tensor& target) {
  if (target.is_floating_point()) return target.to(out.scalar_type()).view(out.sizes());
  if (out.size(-1) == 1) return target.to(out.scalar_type()).view(out.sizes());
  return at::one_hot(target, out.size(-1)).to(out.scalar_type());
}

/// Cross entropy and NLL score class targets.
void need_classes(const DataInfo& info, const std::string& kind) {
  if (info.task == Task::Regression) {
    throw ValueError("[loss] kind '" + kind +
                     "' needs class targets; the data is a regression task");
  }
}

at::Tensor regression_target(const at::Tensor& out, const at::Tensor& target) {
  return target.to(out.scalar_type()).view(out.sizes());
}

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
            auto [o, t] = flat(out, target);
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
          mean};
}

}  // namespace

void add_loss_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<LossFamily>(cross_entropy_loss_spec(),
                    [](const CrossEntropyLossConfig& c, const DataInfo& info) -> Loss {
                      need_classes(info, "cross_entropy");
                      auto options = F::CrossEntropyFuncOptions()
                                         .label_smoothing(c.label_smoothing)
                                         .ignore_index(c.ignore_index);
                      return Loss{[options](const at::Tensor& out, const at::Tensor& target) {
                        auto [o, t] = flat(out, target);
                        return F::cross_entropy(o, t, options);
                      }};
                    });
  f.add<LossFamily>(nll_loss_spec(), [](const NllLossConfig&, const DataInfo& info) -> Loss {
    need_classes(info, "nll");
    return Loss{[](const at::Tensor& out, const at::Tensor& target) {
      auto [o, t] = flat(out, target);
      return F::nll_loss(o, t);
    }};
  });
  f.add<LossFamily>(
      bce_with_logits_loss_spec(), [](const BceWithLogitsLossConfig&, const DataInfo&) -> Loss {
        return Loss{[](const at::Tensor& out, const at::Tensor& target) {
                      return F::binary_cross_entropy_with_logits(out, as_float_target(out, target));
                    },
                    true};
      });
  f.add<LossFamily>(mse_loss_spec(), [](const MseLossConfig&, const DataInfo&) -> Loss {
    return Loss{[](const at::Tensor& out, const at::Tensor& t) {
      return F::mse_loss(out, regression_target(out, t));
    }};
  });
  f.add<LossFamily>(l1_loss_spec(), [](const L1LossConfig&, const DataInfo&) -> Loss {
    return Loss{[](const at::Tensor& out, const at::Tensor& t) {
      return F::l1_loss(out, regression_target(out, t));
    }};
  });
  f.add<LossFamily>(smooth_l1_loss_spec(),
                    [](const SmoothL1LossConfig& c, const DataInfo&) -> Loss {
                      const auto options = F::SmoothL1LossFuncOptions().beta(c.beta);
                      return Loss{[options](const at::Tensor& out, const at::Tensor& t) {
                        return F::smooth_l1_loss(out, regression_target(out, t), options);
                      }};
                    });
}

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
                    auto [o, t] = flat(out.to(at::kFloat), target);
                    auto nll =
                        F::cross_entropy(o, t, F::CrossEntropyFuncOptions().reduction(torch::kSum));
                    return std::make_pair(nll.item<double>(), double(t.numel()));
                  },
                  [](double num, double den) { return den > 0 ? std::exp(num / den) : NAN; }};
  });
}

MetricSet::MetricSet(std::vector<Metric> metrics, const LossFn& loss) {
  metrics_.push_back(
      {"loss",
       [loss](const at::Tensor& out, const at::Tensor& target) {
         const double n = double(out.dim() == 3 ? out.size(0) * out.size(1) : out.size(0));
         return std::make_pair(loss(out.to(at::kFloat), target).item<double>() * n, n);
       },
       mean});
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

}  // namespace fabric::engine
