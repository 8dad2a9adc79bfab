#include "sweep/sampler.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "exp/recipe/toml_nodes.hpp"

namespace fabric::sweep {

using exp::Dimension;

namespace {

/// SplitMix64: a small generator whose stream is the same on every platform (the standard
/// library's distributions are not), seeded per trial so proposals do not depend on order.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  size_t index(size_t n) { return size_t(uniform() * double(n)) % n; }

 private:
  uint64_t state_;
};

Rng trial_rng(uint64_t seed, int64_t number) {
  Rng mix(seed * 0x2545F4914F6CDD1Dull + uint64_t(number));
  return Rng(mix.next());
}

// Continuous dimensions live in an internal interval [a, b): the log of the value for log
// scales, and [low, high + 1) for integers (a value is the floor), so every sampler draws there.
struct Interval {
  double a, b;
};

Interval interval_of(const Dimension& d) {
  const bool integer = d.kind == Dimension::Kind::IntUniform;
  const double high = integer ? d.high + 1 : d.high;
  return d.log ? Interval{std::log(d.low), std::log(high)} : Interval{d.low, high};
}

std::string from_internal(const Dimension& d, double x) {
  const Interval iv = interval_of(d);
  x = std::clamp(x, iv.a, iv.b);
  double v = d.log ? std::exp(x) : x;
  if (d.kind == Dimension::Kind::IntUniform) {
    const int64_t i = std::clamp<int64_t>(int64_t(std::floor(v)), int64_t(d.low), int64_t(d.high));
    return std::to_string(i);
  }
  v = std::clamp(v, d.low, d.high);
  return exp::value_text(toml::value<double>(v));
}

double to_internal(const Dimension& d, const std::string& text) {
  const double v = std::stod(text);
  const double centred = d.kind == Dimension::Kind::IntUniform ? v + 0.5 : v;
  return d.log ? std::log(centred) : centred;
}

size_t choice_index(const Dimension& d, const std::string& text) {
  auto it = std::find(d.values.begin(), d.values.end(), text);
  return it == d.values.end() ? d.values.size() : size_t(it - d.values.begin());
}

std::string random_value(const Dimension& d, Rng& rng) {
  if (d.kind == Dimension::Kind::Choice) return d.values[rng.index(d.values.size())];
  const Interval iv = interval_of(d);
  return from_internal(d, iv.a + rng.uniform() * (iv.b - iv.a));
}

class GridSampler : public Sampler {
 public:
  explicit GridSampler(const exp::SearchSpace& space) : space_(space) {}
  Point propose(int64_t number, const std::vector<Observation>&) override {
    // Mixed radix, the last dimension fastest: Hydra's order for a=1,2 b=x,y.
    Point p(space_.size());
    uint64_t rest = uint64_t(number);
    for (size_t i = space_.size(); i-- > 0;) {
      const size_t n = space_[i].count();
      p[i] = space_[i].value(rest % n);
      rest /= n;
    }
    return p;
  }

 private:
  exp::SearchSpace space_;
};

class RandomSampler : public Sampler {
 public:
  RandomSampler(const exp::SearchSpace& space, uint64_t seed) : space_(space), seed_(seed) {}
  Point propose(int64_t number, const std::vector<Observation>&) override {
    Rng rng = trial_rng(seed_, number);
    Point p;
    for (const auto& d : space_) p.push_back(random_value(d, rng));
    return p;
  }

 private:
  exp::SearchSpace space_;
  uint64_t seed_;
};

/// Optuna's Parzen estimator (3.x, its defaults): a mixture with one component per observation
/// and a prior component (the middle of each interval, the whole width), each a product over the
/// dimensions of a normal truncated to the interval or a distribution over a choice's values. A
/// draw takes one component whole, so a multivariate estimator keeps the values of one good
/// trial together; TPE's univariate form is this estimator over one dimension at a time.
class ParzenEstimator {
 public:
  /// `obs` in the order the trials were numbered (older trials weigh less past 25).
  ParzenEstimator(const exp::SearchSpace& space, const std::vector<const Observation*>& obs,
                  const std::vector<size_t>& dims)
      : space_(space), dims_(dims) {
    const size_t n = obs.size();
    components_ = n + 1;
    // Optuna's default_weights: equal up to 25 observations, then the oldest ramp down.
    weights_.assign(components_, 1.0);
    if (n >= 25) {
      const size_t ramp = n - 25;
      for (size_t i = 0; i < ramp; ++i)
        weights_[i] =
            ramp == 1 ? 1.0 / double(n)
                      : 1.0 / double(n) + (1.0 - 1.0 / double(n)) * double(i) / double(ramp - 1);
    }
    double total = 0;
    for (double w : weights_) total += w;
    for (double& w : weights_) w /= total;
    for (size_t j : dims) {
      const Dimension& d = space[j];
      Kernels k;
      if (d.kind == Dimension::Kind::Choice) {
        // Each observation's kernel: its value plus a 1/(n+1) share of every value; the prior's:
        // every value alike.
        const size_t c = d.values.size();
        for (size_t i = 0; i <= n; ++i) {
          std::vector<double> w(c, 1.0 / double(n + 1));
          if (i < n && choice_index(d, obs[i]->point[j]) < c)
            w[choice_index(d, obs[i]->point[j])] += 1;
          double sum = 0;
          for (double x : w) sum += x;
          for (double& x : w) x /= sum;
          k.probs.push_back(std::move(w));
        }
      } else {
        k.iv = interval_of(d);
        const double width = k.iv.b - k.iv.a;
        for (size_t i = 0; i < n; ++i) k.mus.push_back(to_internal(d, obs[i]->point[j]));
        k.sigmas = neighbour_bandwidths(k.mus, k.iv);
        // Optuna's "magic clip": no kernel narrower than width / (number of kernels + 1).
        const double lo = width / std::min(100.0, 1.0 + double(components_));
        for (double& s : k.sigmas) s = std::clamp(s, lo, width);
        k.mus.push_back(0.5 * (k.iv.a + k.iv.b));  // the prior
        k.sigmas.push_back(width);
      }
      kernels_.push_back(std::move(k));
    }
  }

  /// A point drawn from one component: per dimension of the estimator, an internal coordinate
  /// (a choice as its index).
  std::vector<double> sample(Rng& rng) const {
    double u = rng.uniform(), acc = 0;
    size_t c = components_ - 1;
    for (size_t i = 0; i < components_; ++i) {
      acc += weights_[i];
      if (u < acc) {
        c = i;
        break;
      }
    }
    std::vector<double> x;
    for (const auto& k : kernels_) {
      if (!k.probs.empty()) {
        double v = rng.uniform(), sum = 0;
        size_t pick = k.probs[c].size() - 1;
        for (size_t i = 0; i < k.probs[c].size(); ++i) {
          sum += k.probs[c][i];
          if (v < sum) {
            pick = i;
            break;
          }
        }
        x.push_back(double(pick));
        continue;
      }
      double value = k.iv.a + rng.uniform() * (k.iv.b - k.iv.a);
      for (int tries = 0; tries < 100; ++tries) {
        const double t = k.mus[c] + k.sigmas[c] * rng.normal();
        if (t >= k.iv.a && t < k.iv.b) {
          value = t;
          break;
        }
      }
      x.push_back(value);
    }
    return x;
  }

  double log_pdf(const std::vector<double>& x) const {
    std::vector<double> per(components_);
    for (size_t c = 0; c < components_; ++c) per[c] = std::log(weights_[c]);
    for (size_t j = 0; j < kernels_.size(); ++j) {
      const Kernels& k = kernels_[j];
      for (size_t c = 0; c < components_; ++c) {
        if (!k.probs.empty()) {
          per[c] += std::log(std::max(k.probs[c][size_t(x[j])], 1e-300));
          continue;
        }
        const double s = k.sigmas[c], z = (x[j] - k.mus[c]) / s;
        const double mass = cdf((k.iv.b - k.mus[c]) / s) - cdf((k.iv.a - k.mus[c]) / s);
        per[c] += -0.5 * z * z - std::log(s * std::sqrt(2 * M_PI) * std::max(mass, 1e-12));
      }
    }
    const double top = *std::max_element(per.begin(), per.end());
    double sum = 0;
    for (double v : per) sum += std::exp(v - top);
    return top + std::log(sum);
  }

  /// Writes the estimator's dimensions of `x` into `point` as values.
  void to_point(const std::vector<double>& x, Point& point) const {
    for (size_t i = 0; i < dims_.size(); ++i) {
      const Dimension& d = space_[dims_[i]];
      point[dims_[i]] =
          d.kind == Dimension::Kind::Choice ? d.values[size_t(x[i])] : from_internal(d, x[i]);
    }
  }

 private:
  struct Kernels {
    std::vector<double> mus{}, sigmas{};       // numbers, internal coordinates; the prior last
    std::vector<std::vector<double>> probs{};  // choices: per component, per value
    Interval iv{0, 1};
  };

  /// Per dimension: the larger gap to a neighbour among the sorted observations (the interval's
  /// ends count as neighbours), the outermost using their inner gap only (Optuna's
  /// consider_endpoints=False). Optuna 3.1 used Scott's rule for multivariate TPE; 4.x and 5.x
  /// use this for both, and fabric-exp follows them.
  static std::vector<double> neighbour_bandwidths(const std::vector<double>& mus, Interval iv) {
    std::vector<size_t> order(mus.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return mus[a] < mus[b]; });
    std::vector<double> sorted{iv.a};
    for (size_t i : order) sorted.push_back(mus[i]);
    sorted.push_back(iv.b);
    const size_t m = mus.size();
    std::vector<double> by_rank(m);
    for (size_t r = 0; r < m; ++r)
      by_rank[r] = std::max(sorted[r + 1] - sorted[r], sorted[r + 2] - sorted[r + 1]);
    if (m >= 2) {
      by_rank[0] = sorted[2] - sorted[1];
      by_rank[m - 1] = sorted[m] - sorted[m - 1];
    }
    std::vector<double> out(m);
    for (size_t r = 0; r < m; ++r) out[order[r]] = by_rank[r];
    return out;
  }

  static double cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
  const exp::SearchSpace& space_;
  std::vector<size_t> dims_;
  std::vector<Kernels> kernels_;
  std::vector<double> weights_;
  size_t components_ = 1;
};

class TpeSampler : public Sampler {
 public:
  TpeSampler(const exp::SearchSpace& space, const SamplerConfig& config)
      : space_(space), config_(config) {}

  Point propose(int64_t number, const std::vector<Observation>& history) override {
    Rng rng = trial_rng(config_.seed, number);
    // Optuna counts the trials that ended (finished or pruned) against n_startup_trials.
    const auto ended = std::count_if(history.begin(), history.end(),
                                     [](const Observation& o) { return !o.running; });
    if (ended < std::max<int64_t>(config_.startup_trials, 1)) {
      Point p;
      for (const auto& d : space_) p.push_back(random_value(d, rng));
      return p;
    }
    // Finished trials by value, best first, then the pruned ones (Optuna ranks them lower),
    // then, with a constant liar, the running ones as if they had ended worst of all.
    std::vector<const Observation*> ranked;
    for (const auto& o : history)
      if (!o.running || config_.constant_liar) ranked.push_back(&o);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const Observation* x, const Observation* y) {
      if (x->running != y->running) return !x->running;
      if (x->pruned != y->pruned) return !x->pruned;
      if (std::isnan(x->value) || std::isnan(y->value))
        return !std::isnan(x->value) && std::isnan(y->value);
      return config_.minimize ? x->value < y->value : x->value > y->value;
    });
    // gamma(n) = min(ceil(0.1 n), 25) good trials, n counting the ended ones only: Optuna's
    // default split. Each side stays in trial order (the estimators weigh older trials less).
    const size_t n_good = std::clamp<size_t>(size_t(std::ceil(0.1 * double(ended))), 1, 25);
    std::vector<const Observation*> good(ranked.begin(), ranked.begin() + long(n_good));
    std::vector<const Observation*> bad(ranked.begin() + long(n_good), ranked.end());
    auto in_trial_order = [&](std::vector<const Observation*>& v) {
      std::sort(v.begin(), v.end());  // history is in number order: so are its addresses
    };
    in_trial_order(good);
    in_trial_order(bad);
    Point p(space_.size());
    if (config_.multivariate) {
      std::vector<size_t> all(space_.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = i;
      propose_over(all, good, bad, rng, p);
    } else {
      for (size_t i = 0; i < space_.size(); ++i) propose_over({i}, good, bad, rng, p);
    }
    return p;
  }

 private:
  /// The candidate of l(x) (the good trials' estimator) with the highest l(x) / g(x).
  void propose_over(const std::vector<size_t>& dims, const std::vector<const Observation*>& good,
                    const std::vector<const Observation*>& bad, Rng& rng, Point& p) const {
    const ParzenEstimator l(space_, good, dims), g(space_, bad, dims);
    std::vector<double> best;
    double best_score = -INFINITY;
    for (int64_t c = 0; c < config_.candidates; ++c) {
      auto x = l.sample(rng);
      const double score = l.log_pdf(x) - g.log_pdf(x);
      if (best.empty() || score > best_score) {
        best_score = score;
        best = std::move(x);
      }
    }
    l.to_point(best, p);
  }

  exp::SearchSpace space_;
  SamplerConfig config_;
};

}  // namespace

std::unique_ptr<Sampler> make_sampler(const exp::SearchSpace& space, const SamplerConfig& config) {
  if (config.method == "grid") return std::make_unique<GridSampler>(space);
  if (config.method == "random") return std::make_unique<RandomSampler>(space, config.seed);
  if (config.method == "tpe") return std::make_unique<TpeSampler>(space, config);
  throw std::invalid_argument("unknown sweep method '" + config.method + "'");
}

int64_t grid_size(const exp::SearchSpace& space) {
  int64_t n = 1;
  for (const auto& d : space) n *= int64_t(d.count());
  return n;
}

std::string point_toml(const exp::SearchSpace& space, const Point& point) {
  std::string out;
  for (size_t i = 0; i < space.size(); ++i) {
    out += exp::value_text(toml::value<std::string>(space[i].path)) + " = " + point[i] + "\n";
  }
  return out;
}

Point point_from_toml(const exp::SearchSpace& space, const std::string& text) {
  const toml::table t = toml::parse(text);
  Point p;
  for (const auto& d : space) {
    const toml::node* n = t.get(d.path);
    if (!n) throw std::runtime_error("trial parameters lack '" + d.path + "'");
    p.push_back(exp::value_text(*n));
  }
  return p;
}

std::string point_summary(const exp::SearchSpace& space, const Point& point) {
  std::string out;
  for (size_t i = 0; i < space.size(); ++i) out += (i ? " " : "") + space[i].path + "=" + point[i];
  return out;
}

}  // namespace fabric::sweep
