#include "engine/objectives.hpp"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "fabric/error.hpp"

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

}  // namespace

LossFn build_loss(const Params& p, const DataInfo& info) {
  const std::string kind = p.kind().empty() ? "cross_entropy" : p.kind();
  const bool regression = info.task == "regression";
  auto need_classes = [&] {
    if (regression) {
      throw ValueError("[loss] kind '" + kind +
                       "' needs class targets; the data is a regression task");
    }
  };
  if (kind == "cross_entropy") {
    need_classes();
    auto options =
        F::CrossEntropyFuncOptions()
            .label_smoothing(p.has("label_smoothing") ? p.number("label_smoothing") : 0.0)
            .ignore_index(p.has("ignore_index") ? p.integer("ignore_index") : -100);
    return [options](const at::Tensor& out, const at::Tensor& target) {
      auto [o, t] = flat(out, target);
      return F::cross_entropy(o, t, options);
    };
  }
  if (kind == "nll") {
    need_classes();
    return [](const at::Tensor& out, const at::Tensor& target) {
      auto [o, t] = flat(out, target);
      return F::nll_loss(o, t);
    };
  }
  if (kind == "bce_with_logits") {
    return [](const at::Tensor& out, const at::Tensor& target) {
      return F::binary_cross_entropy_with_logits(out, as_float_target(out, target));
    };
  }
  auto regression_target = [](const at::Tensor& out, const at::Tensor& target) {
    return target.to(out.scalar_type()).view(out.sizes());
  };
  if (kind == "mse") {
    return [=](const at::Tensor& out, const at::Tensor& t) {
      return F::mse_loss(out, regression_target(out, t));
    };
  }
  if (kind == "l1") {
    return [=](const at::Tensor& out, const at::Tensor& t) {
      return F::l1_loss(out, regression_target(out, t));
    };
  }
  if (kind == "smooth_l1") {
    const double beta = p.number("beta");
    return [=](const at::Tensor& out, const at::Tensor& t) {
      return F::smooth_l1_loss(out, regression_target(out, t),
                               F::SmoothL1LossFuncOptions().beta(beta));
    };
  }
  throw NotSupportedError("[loss] kind '" + kind + "' is not supported yet");
}

MetricSet::MetricSet(const std::vector<Params>& metrics, const LossFn& loss, const DataInfo& info) {
  auto mean = [](double num, double den) { return den > 0 ? num / den : NAN; };
  metrics_.push_back(
      {"loss",
       [loss](const at::Tensor& out, const at::Tensor& target) {
         const double n = double(out.dim() == 3 ? out.size(0) * out.size(1) : out.size(0));
         return std::make_pair(loss(out.to(at::kFloat), target).item<double>() * n, n);
       },
       mean});
  const bool regression = info.task == "regression";
  for (const auto& m : metrics) {
    const std::string kind = m.kind();
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) throw ValueError("[" + m.where() + "] kind '" + kind + "' needs " + what);
    };
    if (kind == "accuracy" || kind == "top_k_accuracy") {
      need(!regression, "class targets; the data is a regression task");
      const int64_t k = kind == "accuracy" ? 1 : m.integer("k");
      metrics_.push_back({kind,
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
                          mean});
    } else if (kind == "mse" || kind == "mae") {
      need(regression, "a regression task");
      const bool squared = kind == "mse";
      metrics_.push_back({kind,
                          [squared](const at::Tensor& out, const at::Tensor& target) {
                            auto diff =
                                out.to(at::kFloat) - target.to(at::kFloat).view(out.sizes());
                            auto total = squared ? diff.square().sum() : diff.abs().sum();
                            return std::make_pair(total.item<double>(), double(diff.numel()));
                          },
                          mean});
    } else if (kind == "perplexity") {
      need(!regression, "class or token targets");
      metrics_.push_back(
          {kind,
           [](const at::Tensor& out, const at::Tensor& target) {
             auto [o, t] = flat(out.to(at::kFloat), target);
             auto nll = F::cross_entropy(o, t, F::CrossEntropyFuncOptions().reduction(torch::kSum));
             return std::make_pair(nll.item<double>(), double(t.numel()));
           },
           [](double num, double den) { return den > 0 ? std::exp(num / den) : NAN; }});
    } else {
      throw NotSupportedError("[" + m.where() + "] kind '" + kind + "' is not supported yet");
    }
  }
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
