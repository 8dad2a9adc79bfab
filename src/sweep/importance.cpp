#include "sweep/importance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

namespace fabric::sweep {

namespace {

double eta_squared(const std::vector<int>& group, const std::vector<double>& y) {
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  double total = 0;
  for (double v : y) total += (v - mean) * (v - mean);
  if (total <= 0) return 0;
  std::map<int, std::pair<double, int>> sums;
  for (size_t i = 0; i < y.size(); ++i) {
    sums[group[i]].first += y[i];
    sums[group[i]].second += 1;
  }
  double between = 0;
  for (const auto& [g, s] : sums) {
    const double m = s.first / s.second;
    between += s.second * (m - mean) * (m - mean);
  }
  return between / total;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * double(i + j);  // ties share a rank
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

/// The trials' values of dimension i as numbers (log scale for log dimensions), or nullopt
/// when a value is not a number (a choice of strings or lists).
std::optional<std::vector<double>> numbers(const exp::Dimension& d,
                                           const std::vector<Observation>& trials, size_t i) {
  std::vector<double> x;
  for (const auto& o : trials) {
    char* end = nullptr;
    const double v = std::strtod(o.point[i].c_str(), &end);
    if (end == o.point[i].c_str() || *end != '\0') return std::nullopt;
    x.push_back(d.log ? std::log(v) : v);
  }
  return x;
}

/// "higher is better (Spearman +0.91)": the rank correlation of a parameter with the objective.
std::string direction(const std::vector<double>& x, const std::vector<double>& y, bool minimize) {
  const double rho = pearson(ranks(x), ranks(y));
  const bool higher_better = minimize ? rho < 0 : rho > 0;
  return std::abs(rho) < 0.1 ? fmt::format("no clear direction (Spearman {:+.2f})", rho)
                             : fmt::format("{} is better (Spearman {:+.2f})",
                                           higher_better ? "higher" : "lower", rho);
}

}  // namespace

std::vector<ParameterEffect> parameter_effects(const exp::SearchSpace& space,
                                               const std::vector<Observation>& finished,
                                               bool minimize) {
  std::vector<ParameterEffect> out;
  std::vector<double> y;
  for (const auto& o : finished) y.push_back(o.value);
  if (finished.size() < 2) return out;
  for (size_t i = 0; i < space.size(); ++i) {
    const auto& d = space[i];
    ParameterEffect e;
    e.path = d.path;
    std::vector<int> group(finished.size());
    if (d.kind == exp::Dimension::Kind::Choice) {
      std::map<std::string, std::pair<double, int>> by_value;
      for (size_t t = 0; t < finished.size(); ++t) {
        const std::string& v = finished[t].point[i];
        group[t] = int(std::find(d.values.begin(), d.values.end(), v) - d.values.begin());
        by_value[v].first += y[t];
        by_value[v].second += 1;
      }
      std::string best;
      double best_mean = 0;
      for (const auto& [v, s] : by_value) {
        const double m = s.first / s.second;
        if (best.empty() || (minimize ? m < best_mean : m > best_mean)) {
          best = v;
          best_mean = m;
        }
      }
      e.effect = fmt::format("best: {} (mean {:.4g} over {} trials)", best, best_mean,
                             by_value[best].second);
      if (auto x = numbers(d, finished, i)) e.effect += "; " + direction(*x, y, minimize);
    } else {
      const std::vector<double> x = *numbers(d, finished, i);
      // Quartiles of the values tried (fewer bins for few trials): continuous values rarely
      // repeat, so they are grouped before the ANOVA.
      const auto r = ranks(x);
      const size_t bins = std::clamp<size_t>(finished.size() / 2, 1, 4);
      for (size_t t = 0; t < finished.size(); ++t)
        group[t] = int(r[t] * double(bins) / double(finished.size()));
      e.effect = direction(x, y, minimize);
    }
    e.importance = eta_squared(group, y);
    out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const ParameterEffect& a, const ParameterEffect& b) {
    return a.importance > b.importance;
  });
  return out;
}

}  // namespace fabric::sweep
