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

/// A mixture of normals truncated to [a, b), one at each observation and one wide prior
/// (Optuna's Parzen estimator with its default bandwidths and "magic clip").
class Parzen {
 public:
  Parzen(std::vector<double> xs, Interval iv) : iv_(iv) {
    const double width = iv.b - iv.a;
    mus_ = std::move(xs);
    mus_.push_back(0.5 * (iv.a + iv.b));  // the prior
    std::vector<size_t> order(mus_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return mus_[i] < mus_[j]; });
    sigmas_.assign(mus_.size(), width);
    const double lo = width / std::min(100.0, 1.0 + double(mus_.size() - 1));
    for (size_t r = 0; r < order.size(); ++r) {
      const size_t i = order[r];
      if (i == mus_.size() - 1) continue;  // the prior keeps the whole width
      const double left = r > 0 ? mus_[i] - mus_[order[r - 1]] : mus_[i] - iv.a;
      const double right = r + 1 < order.size() ? mus_[order[r + 1]] - mus_[i] : iv.b - mus_[i];
      sigmas_[i] = std::clamp(std::max(left, right), lo, width);
    }
  }

  double sample(Rng& rng) const {
    const size_t k = rng.index(mus_.size());
    for (int tries = 0; tries < 100; ++tries) {
      const double x = mus_[k] + sigmas_[k] * rng.normal();
      if (x >= iv_.a && x < iv_.b) return x;
    }
    return iv_.a + rng.uniform() * (iv_.b - iv_.a);
  }

  double log_pdf(double x) const {
    double p = 0;
    for (size_t i = 0; i < mus_.size(); ++i) {
      const double s = sigmas_[i];
      const double mass = cdf((iv_.b - mus_[i]) / s) - cdf((iv_.a - mus_[i]) / s);
      const double z = (x - mus_[i]) / s;
      p += std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI) * std::max(mass, 1e-12));
    }
    return std::log(std::max(p / double(mus_.size()), 1e-300));
  }

 private:
  static double cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
  Interval iv_;
  std::vector<double> mus_, sigmas_;
};

/// Optuna's multivariate Parzen estimator: one component per observation (and a prior), each
/// a product of per-dimension kernels, so a draw keeps the parameters of one good trial
/// together. Numbers get Scott's bandwidth 0.2 n^(-1/(d+4)) of the width, clipped as in the
/// univariate estimator; a choice's kernel puts its weight on the observed value and a
/// 1/(n+1) share on each value.
class JointParzen {
 public:
  JointParzen(const exp::SearchSpace& space, const std::vector<const Observation*>& obs)
      : space_(space) {
    const size_t n = obs.size(), dims = space.size();
    const double scott = 0.2 * std::pow(double(std::max<size_t>(n, 1)), -1.0 / double(dims + 4));
    for (size_t j = 0; j < dims; ++j) {
      const Dimension& d = space[j];
      Kernels k;
      if (d.kind == Dimension::Kind::Choice) {
        const size_t c = d.values.size();
        for (size_t i = 0; i <= n; ++i) {
          std::vector<double> w(c, 1.0 / double(n + 1));
          if (i < n && choice_index(d, obs[i]->point[j]) < c)
            w[choice_index(d, obs[i]->point[j])] += 1;
          if (i == n) w.assign(c, 1.0);  // the prior: every value alike
          double total = 0;
          for (double x : w) total += x;
          for (double& x : w) x /= total;
          k.weights.push_back(std::move(w));
        }
      } else {
        const Interval iv = interval_of(d);
        const double width = iv.b - iv.a;
        const double lo = width / std::min(100.0, 1.0 + double(n + 1));
        for (size_t i = 0; i < n; ++i) {
          k.mus.push_back(to_internal(d, obs[i]->point[j]));
          k.sigmas.push_back(std::clamp(scott * width, lo, width));
        }
        k.mus.push_back(0.5 * (iv.a + iv.b));
        k.sigmas.push_back(width);
        k.iv = iv;
      }
      kernels_.push_back(std::move(k));
    }
    components_ = n + 1;
  }

  /// A point drawn from one component, in internal coordinates (a choice as its index).
  std::vector<double> sample(Rng& rng) const {
    const size_t c = rng.index(components_);
    std::vector<double> x;
    for (const auto& k : kernels_) {
      if (!k.weights.empty()) {
        double u = rng.uniform(), acc = 0;
        size_t v = k.weights[c].size() - 1;
        for (size_t i = 0; i < k.weights[c].size(); ++i) {
          acc += k.weights[c][i];
          if (u < acc) {
            v = i;
            break;
          }
        }
        x.push_back(double(v));
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
    std::vector<double> per(components_, 0.0);
    for (size_t j = 0; j < kernels_.size(); ++j) {
      const Kernels& k = kernels_[j];
      for (size_t c = 0; c < components_; ++c) {
        if (!k.weights.empty()) {
          per[c] += std::log(std::max(k.weights[c][size_t(x[j])], 1e-300));
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
    return top + std::log(sum / double(components_));
  }

  Point to_point(const std::vector<double>& x) const {
    Point p;
    for (size_t j = 0; j < space_.size(); ++j) {
      p.push_back(space_[j].kind == Dimension::Kind::Choice ? space_[j].values[size_t(x[j])]
                                                            : from_internal(space_[j], x[j]));
    }
    return p;
  }

 private:
  struct Kernels {
    std::vector<double> mus{}, sigmas{};         // numbers, internal coordinates
    std::vector<std::vector<double>> weights{};  // choices: per component, per value
    Interval iv{0, 1};
  };
  static double cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
  const exp::SearchSpace& space_;
  std::vector<Kernels> kernels_;
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
    // gamma(n) = min(ceil(0.1 n), 25): Optuna's default split into good and bad trials.
    const size_t n_good = std::clamp<size_t>(size_t(std::ceil(0.1 * double(ranked.size()))), 1, 25);
    const std::vector<const Observation*> good(ranked.begin(), ranked.begin() + long(n_good));
    const std::vector<const Observation*> bad(ranked.begin() + long(n_good), ranked.end());
    if (config_.multivariate) return propose_joint(good, bad, rng);
    Point p;
    for (size_t i = 0; i < space_.size(); ++i) {
      const Dimension& d = space_[i];
      p.push_back(d.kind == Dimension::Kind::Choice ? propose_choice(d, i, good, bad, rng)
                                                    : propose_number(d, i, good, bad, rng));
    }
    return p;
  }

 private:
  Point propose_joint(const std::vector<const Observation*>& good,
                      const std::vector<const Observation*>& bad, Rng& rng) const {
    const JointParzen l(space_, good), g(space_, bad);
    std::vector<double> best;
    double best_score = -INFINITY;
    for (int64_t c = 0; c < config_.candidates; ++c) {
      auto x = l.sample(rng);
      const double score = l.log_pdf(x) - g.log_pdf(x);
      if (score > best_score) {
        best_score = score;
        best = std::move(x);
      }
    }
    return l.to_point(best);
  }

  std::string propose_number(const Dimension& d, size_t i,
                             const std::vector<const Observation*>& good,
                             const std::vector<const Observation*>& bad, Rng& rng) const {
    auto xs = [&](const std::vector<const Observation*>& obs) {
      std::vector<double> out;
      for (const auto* o : obs) out.push_back(to_internal(d, o->point[i]));
      return out;
    };
    const Interval iv = interval_of(d);
    const Parzen l(xs(good), iv), g(xs(bad), iv);
    double best_x = 0, best_score = -INFINITY;
    for (int64_t c = 0; c < config_.candidates; ++c) {
      const double x = l.sample(rng);
      const double score = l.log_pdf(x) - g.log_pdf(x);
      if (score > best_score) {
        best_score = score;
        best_x = x;
      }
    }
    return from_internal(d, best_x);
  }

  std::string propose_choice(const Dimension& d, size_t i,
                             const std::vector<const Observation*>& good,
                             const std::vector<const Observation*>& bad, Rng& rng) const {
    const size_t n = d.values.size();
    auto weights = [&](const std::vector<const Observation*>& obs) {
      std::vector<double> w(n, 1.0);  // the prior: one pseudo-count per value
      for (const auto* o : obs) {
        const size_t k = choice_index(d, o->point[i]);
        if (k < n) w[k] += 1;
      }
      double total = 0;
      for (double x : w) total += x;
      for (double& x : w) x /= total;
      return w;
    };
    const auto l = weights(good), g = weights(bad);
    size_t best = 0;
    double best_score = -INFINITY;
    for (int64_t c = 0; c < config_.candidates; ++c) {
      double u = rng.uniform(), acc = 0;
      size_t k = n - 1;
      for (size_t j = 0; j < n; ++j) {
        acc += l[j];
        if (u < acc) {
          k = j;
          break;
        }
      }
      const double score = std::log(l[k]) - std::log(g[k]);
      if (score > best_score) {
        best_score = score;
        best = k;
      }
    }
    return d.values[best];
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
