#include "sweep/pruner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fabric::sweep {

PrunerKind pruner_kind(const std::string& name) {
  if (name == "none") return PrunerKind::None;
  if (name == "median") return PrunerKind::Median;
  if (name == "asha") return PrunerKind::Asha;
  throw std::invalid_argument("unknown pruner '" + name + "'");
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool worse(double a, double b, bool minimize) {
  return minimize ? a > b : a < b;
}

}  // namespace

PruneDecision median_decision(const std::vector<double>& own,
                              const std::vector<std::vector<double>>& finished,
                              const PrunerConfig& config) {
  PruneDecision d;
  d.report = int64_t(own.size());
  if (own.empty() || d.report <= config.warmup || int64_t(finished.size()) < config.startup_trials)
    return d;
  const size_t k = own.size() - 1;
  std::vector<double> at_k;
  for (const auto& curve : finished)
    if (curve.size() > k && !std::isnan(curve[k])) at_k.push_back(curve[k]);
  if (at_k.empty()) return d;
  double best = own[0];
  for (double v : own)
    if (std::isnan(best) || worse(best, v, config.minimize)) best = v;
  d.value = best;
  d.threshold = median(at_k);
  // A trial whose value is NaN has diverged: nothing it reports later can rank it.
  d.prune = std::isnan(best) || worse(best, d.threshold, config.minimize);
  if (d.prune) {
    d.reason = fmt::format(
        "median pruner: best {} by validation {} is worse than the median {} "
        "of {} finished trials",
        best, d.report, d.threshold, at_k.size());
  }
  return d;
}

std::optional<int64_t> asha_rung(int64_t reports, const PrunerConfig& config) {
  int64_t at = config.min_resource;
  for (int64_t rung = 0; at <= reports; ++rung, at *= config.reduction_factor) {
    if (at == reports) return rung;
  }
  return std::nullopt;
}

PruneDecision asha_decision(double value, const std::vector<double>& rung_values, int64_t rung,
                            int64_t report, const PrunerConfig& config) {
  PruneDecision d;
  d.report = report;
  d.rung = rung;
  d.value = value;
  std::vector<double> sorted = rung_values;
  std::sort(sorted.begin(), sorted.end(), [&](double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return config.minimize ? a < b : a > b;
  });
  const size_t keep = std::max<size_t>(1, sorted.size() / size_t(config.reduction_factor));
  d.threshold = sorted[keep - 1];
  d.prune = std::isnan(value) || worse(value, d.threshold, config.minimize);
  if (d.prune) {
    d.reason = fmt::format(
        "asha pruner: {} at rung {} (validation {}) is outside the best {} of "
        "{} (cut-off {})",
        value, rung, report, keep, sorted.size(), d.threshold);
  }
  return d;
}

}  // namespace fabric::sweep
