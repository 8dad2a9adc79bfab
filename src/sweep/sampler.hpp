// Samplers propose the parameters of trial N. Grid and random depend only on N (and the seed),
// so a resumed or parallel sweep proposes the same trials; TPE also reads the trials that have
// ended before it is asked, as Optuna's TPESampler does (with parallel > 1 that depends on which
// ended first), and with a constant liar the trials still running.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exp/recipe/search_space.hpp"

namespace fabric::sweep {

/// One value per dimension, as TOML text (exp::value_text).
using Point = std::vector<std::string>;

/// A trial the sampler sees: ended with a value (finished, or pruned: ranked below every
/// finished one), or still running (no value yet; only a constant liar reads those).
struct Observation {
  Point point{};
  double value = 0;
  bool pruned = false;
  bool running = false;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The point of trial `number`; `history` holds the trials that have ended and those still
  /// running, in number order.
  virtual Point propose(int64_t number, const std::vector<Observation>& history) = 0;
};

struct SamplerConfig {
  std::string method = "grid";  // grid | random | tpe
  uint64_t seed = 0;
  bool minimize = true;
  int64_t startup_trials = 10;  // tpe: random proposals before the model
  int64_t candidates = 24;      // tpe: draws from l(x) scored by l(x)/g(x)
  // tpe: one Parzen estimator over all dimensions at once (Optuna's multivariate=True), so
  // parameters that work together are proposed together; otherwise one per dimension. On by
  // default, unlike Optuna: tools/bench/tpe_vs_optuna.py finds it as good or better.
  bool multivariate = true;
  // tpe: running trials count as the worst ended ones (Optuna's constant_liar), so workers
  // proposing at once do not all propose the same point.
  bool constant_liar = true;
};

std::unique_ptr<Sampler> make_sampler(const exp::SearchSpace& space, const SamplerConfig& config);

/// The number of points of a grid over `space` (every dimension discrete).
int64_t grid_size(const exp::SearchSpace& space);

/// TOML text of a point as a table: "optimizer.lr" = 0.001 (what the store keeps).
std::string point_toml(const exp::SearchSpace& space, const Point& point);
/// The point of `space` stored by point_toml; throws std::runtime_error if a key is missing.
Point point_from_toml(const exp::SearchSpace& space, const std::string& toml_text);
/// "optimizer.lr=0.001 model.hidden=[128]"
std::string point_summary(const exp::SearchSpace& space, const Point& point);

}  // namespace fabric::sweep
