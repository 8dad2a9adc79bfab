// The parts of a sweep that are pure functions: samplers (grid, random, TPE), pruning decisions
// and parameter effects.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "exp/recipe/search_space.hpp"
#include "sweep/importance.hpp"
#include "sweep/pruner.hpp"
#include "sweep/sampler.hpp"

using fabric::exp::Dimension;
using fabric::exp::SearchSpace;
namespace sweep = fabric::sweep;

namespace {

Dimension choice(const std::string& path, std::vector<std::string> values) {
  Dimension d;
  d.path = path;
  d.values = std::move(values);
  return d;
}

Dimension range(const std::string& path, Dimension::Kind kind, double low, double high, bool log) {
  Dimension d;
  d.path = path;
  d.kind = kind;
  d.low = low;
  d.high = high;
  d.log = log;
  return d;
}

}  // namespace

TEST_CASE("grid: every combination once, the last dimension fastest", "[sweep][sampler]") {
  SearchSpace space{choice("a", {"1", "2", "3"}),
                    range("b", Dimension::Kind::IntUniform, 10, 11, false)};
  REQUIRE(sweep::grid_size(space) == 6);
  auto grid = sweep::make_sampler(space, {.method = "grid"});
  std::vector<sweep::Point> points;
  for (int n = 0; n < 6; ++n) points.push_back(grid->propose(n, {}));
  CHECK(points[0] == sweep::Point{"1", "10"});
  CHECK(points[1] == sweep::Point{"1", "11"});
  CHECK(points[5] == sweep::Point{"3", "11"});
  CHECK(std::set<sweep::Point>(points.begin(), points.end()).size() == 6);
}

TEST_CASE("random: reproducible from the seed and the trial number, within bounds",
          "[sweep][sampler]") {
  SearchSpace space{range("lr", Dimension::Kind::Uniform, 1e-5, 1e-1, true),
                    range("width", Dimension::Kind::IntUniform, 16, 1024, true),
                    range("p", Dimension::Kind::Uniform, 0.0, 0.5, false),
                    range("layers", Dimension::Kind::IntUniform, 1, 3, false),
                    choice("kind", {"\"adam\"", "\"sgd\""})};
  auto a = sweep::make_sampler(space, {.method = "random", .seed = 7});
  auto b = sweep::make_sampler(space, {.method = "random", .seed = 7});
  auto c = sweep::make_sampler(space, {.method = "random", .seed = 8});
  // Trial 5 is the same point whether or not trials 0..4 were asked first (resume, parallel).
  const auto p5 = a->propose(5, {});
  for (int n = 0; n < 5; ++n) b->propose(n, {});
  CHECK(b->propose(5, {}) == p5);
  CHECK(c->propose(5, {}) != p5);
  std::set<std::string> layers, kinds;
  double small_lr = 0;
  for (int n = 0; n < 400; ++n) {
    auto p = a->propose(n, {});
    const double lr = std::stod(p[0]);
    CHECK(lr >= 1e-5);
    CHECK(lr <= 1e-1);
    small_lr += lr < 1e-3;
    CHECK(std::stoll(p[1]) >= 16);
    CHECK(std::stoll(p[1]) <= 1024);
    CHECK(p[1].find('.') == std::string::npos);  // integers stay integers
    layers.insert(p[3]);
    kinds.insert(p[4]);
  }
  // Log-uniform: half the draws are below the geometric middle (1e-3) of [1e-5, 1e-1].
  CHECK(small_lr / 400 == Approx(0.5).margin(0.08));
  CHECK(layers == std::set<std::string>{"1", "2", "3"});
  CHECK(kinds == std::set<std::string>{"\"adam\"", "\"sgd\""});
}

namespace {

/// A synthetic objective with its optimum at lr = 10^-2.5, width = 300 and kind "adam".
double objective(const sweep::Point& p) {
  const double lr = std::log10(std::stod(p[0])), width = std::stod(p[1]);
  return std::pow(lr + 2.5, 2) + std::pow((width - 300) / 200, 2) + (p[2] == "\"adam\"" ? 0 : 1);
}

SearchSpace objective_space() {
  return {range("lr", Dimension::Kind::Uniform, 1e-5, 1e-1, true),
          range("width", Dimension::Kind::IntUniform, 16, 1024, false),
          choice("kind", {"\"adam\"", "\"sgd\"", "\"rmsprop\""})};
}

double best_found(const std::string& method, uint64_t seed, int budget, bool multivariate = false) {
  const SearchSpace space = objective_space();
  auto sampler = sweep::make_sampler(space, {.method = method,
                                             .seed = seed,
                                             .minimize = true,
                                             .startup_trials = 10,
                                             .multivariate = multivariate});
  std::vector<sweep::Observation> history;
  double best = INFINITY;
  for (int n = 0; n < budget; ++n) {
    auto p = sampler->propose(n, history);
    const double v = objective(p);
    history.push_back({p, v, false});
    best = std::min(best, v);
  }
  return best;
}

}  // namespace

TEST_CASE("tpe: reproducible from the seed, and better than random for the same budget",
          "[sweep][sampler]") {
  CHECK(best_found("tpe", 3, 30) == best_found("tpe", 3, 30));
  double tpe = 0, random = 0;
  const int seeds = 20;
  for (int s = 0; s < seeds; ++s) {
    tpe += best_found("tpe", uint64_t(s), 40) / seeds;
    random += best_found("random", uint64_t(s), 40) / seeds;
  }
  INFO("mean best objective over " << seeds << " seeds, 40 trials: tpe " << tpe << ", random "
                                   << random);
  CHECK(tpe < 0.7 * random);
}

TEST_CASE("multivariate tpe: reproducible, within bounds, and better than random",
          "[sweep][sampler]") {
  CHECK(best_found("tpe", 5, 30, true) == best_found("tpe", 5, 30, true));
  CHECK(best_found("tpe", 5, 30, true) != best_found("tpe", 5, 30, false));
  double tpe = 0, random = 0;
  const int seeds = 20;
  for (int s = 0; s < seeds; ++s) {
    tpe += best_found("tpe", uint64_t(s), 40, true) / seeds;
    random += best_found("random", uint64_t(s), 40) / seeds;
  }
  INFO("mean best objective over " << seeds << " seeds, 40 trials: multivariate tpe " << tpe
                                   << ", random " << random);
  CHECK(tpe < 0.7 * random);
  // Every proposal is a value of its dimension.
  const SearchSpace space = objective_space();
  auto sampler = sweep::make_sampler(
      space, {.method = "tpe", .seed = 1, .startup_trials = 3, .multivariate = true});
  std::vector<sweep::Observation> history;
  for (int n = 0; n < 30; ++n) {
    auto p = sampler->propose(n, history);
    CHECK(std::stod(p[0]) >= 1e-5);
    CHECK(std::stod(p[0]) <= 1e-1);
    CHECK(std::stoll(p[1]) >= 16);
    CHECK(std::stoll(p[1]) <= 1024);
    CHECK(p[1].find('.') == std::string::npos);
    CHECK(std::find(space[2].values.begin(), space[2].values.end(), p[2]) != space[2].values.end());
    history.push_back({p, objective(p), false});
  }
}

TEST_CASE("tpe with a constant liar: running trials count as the worst, others are ignored",
          "[sweep][sampler]") {
  const SearchSpace space = objective_space();
  std::vector<sweep::Observation> ended;
  auto random = sweep::make_sampler(space, {.method = "random", .seed = 7});
  for (int n = 0; n < 12; ++n) {
    auto p = random->propose(n, {});
    ended.push_back({p, objective(p), false});
  }
  for (bool multivariate : {false, true}) {
    INFO("multivariate " << multivariate);
    auto make = [&](bool liar) {
      return sweep::make_sampler(space, {.method = "tpe",
                                         .seed = 3,
                                         .startup_trials = 10,
                                         .multivariate = multivariate,
                                         .constant_liar = liar});
    };
    auto liar = make(true), honest = make(false);
    // Two workers ask at once (the same trial number stands for the same random draws): the
    // first one's point is still running when the second asks.
    const sweep::Point first = honest->propose(20, ended);
    CHECK(liar->propose(20, ended) == first);
    auto with_running = ended;
    with_running.push_back({first, 0, false, true});
    CHECK(honest->propose(20, with_running) == first);  // the same point twice
    CHECK(liar->propose(20, with_running) != first);    // the liar moves away
  }
  // Running trials do not count as ended against startup_trials: until 14 have ended, tpe
  // proposes what random does with the same seed.
  auto tpe = sweep::make_sampler(space, {.method = "tpe", .seed = 3, .startup_trials = 14});
  auto same_seed = sweep::make_sampler(space, {.method = "random", .seed = 3});
  std::vector<sweep::Observation> few(ended.begin(), ended.begin() + 10);
  for (int i = 0; i < 6; ++i) few.push_back({ended[0].point, 0, false, true});
  CHECK(tpe->propose(16, few) == same_seed->propose(16, {}));
  few.erase(few.begin() + 10, few.end());
  few.insert(few.end(), ended.begin() + 10, ended.end());
  few.push_back(ended[0]);
  few.push_back(ended[1]);
  CHECK(tpe->propose(16, few) != same_seed->propose(16, {}));
}

TEST_CASE("median pruner: Optuna's rule", "[sweep][pruner]") {
  sweep::PrunerConfig cfg{
      .kind = sweep::PrunerKind::Median, .minimize = true, .startup_trials = 2, .warmup = 1};
  const std::vector<std::vector<double>> finished{{1.0, 0.8, 0.6}, {1.2, 1.0, 0.9}};
  // Within the warm-up: never.
  CHECK_FALSE(sweep::median_decision({5.0}, finished, cfg).prune);
  // Report 2: best so far 1.1 vs median of (0.8, 1.0) = 0.9 -> pruned.
  auto d = sweep::median_decision({1.1, 1.3}, finished, cfg);
  CHECK(d.prune);
  CHECK(d.report == 2);
  CHECK(d.value == 1.1);
  CHECK(d.threshold == Approx(0.9));
  CHECK_THAT(d.reason, Catch::Contains("median"));
  // Better than the median: continues.
  CHECK_FALSE(sweep::median_decision({0.9, 0.85}, finished, cfg).prune);
  // Fewer finished trials than startup_trials: never.
  CHECK_FALSE(sweep::median_decision({9.0, 9.0}, {finished[0]}, cfg).prune);
  // Nobody reported that far: nothing to compare with.
  CHECK_FALSE(sweep::median_decision({9.0, 9.0, 9.0, 9.0}, finished, cfg).prune);
  // Maximizing turns the comparison around; a NaN has diverged.
  cfg.minimize = false;
  CHECK_FALSE(sweep::median_decision({1.1, 1.3}, finished, cfg).prune);
  CHECK(sweep::median_decision({NAN, NAN}, finished, cfg).prune);
}

TEST_CASE("asha: rungs at min_resource * eta^r, the top 1/eta continue", "[sweep][pruner]") {
  sweep::PrunerConfig cfg{
      .kind = sweep::PrunerKind::Asha, .minimize = false, .min_resource = 2, .reduction_factor = 3};
  CHECK(sweep::asha_rung(1, cfg) == std::nullopt);
  CHECK(sweep::asha_rung(2, cfg) == 0);
  CHECK(sweep::asha_rung(3, cfg) == std::nullopt);
  CHECK(sweep::asha_rung(6, cfg) == 1);
  CHECK(sweep::asha_rung(18, cfg) == 2);
  // The first trial at a rung always continues.
  CHECK_FALSE(sweep::asha_decision(0.1, {0.1}, 0, 2, cfg).prune);
  // Six values at the rung: the best two continue.
  const std::vector<double> rung{0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
  CHECK_FALSE(sweep::asha_decision(0.8, rung, 0, 2, cfg).prune);
  auto d = sweep::asha_decision(0.7, rung, 0, 2, cfg);
  CHECK(d.prune);
  CHECK(d.threshold == 0.8);
  CHECK(d.rung == 0);
  cfg.minimize = true;
  CHECK_FALSE(sweep::asha_decision(0.5, rung, 0, 2, cfg).prune);
  CHECK(sweep::asha_decision(0.6, rung, 0, 2, cfg).prune);
}

TEST_CASE("parameter effects: what explains the objective ranks first, with its direction",
          "[sweep][importance]") {
  SearchSpace space{range("lr", Dimension::Kind::Uniform, 1e-4, 1e-1, true),
                    choice("kind", {"\"adam\"", "\"sgd\""}),
                    range("noise", Dimension::Kind::Uniform, 0, 1, false)};
  std::vector<sweep::Observation> trials;
  const double noise[] = {0.3, 0.9, 0.1, 0.5, 0.7, 0.2, 0.8, 0.4};
  for (int i = 0; i < 8; ++i) {
    const double lr = 1e-4 * std::pow(10.0, i * 3.0 / 7);
    const bool adam = i % 4 == 1 || i % 4 == 2;  // as many low as high learning rates
    trials.push_back({{std::to_string(lr), adam ? "\"adam\"" : "\"sgd\"", std::to_string(noise[i])},
                      std::log10(lr) * 10 + (adam ? 0.5 : 0),  // maximize: higher lr, adam
                      false});
  }
  auto effects = sweep::parameter_effects(space, trials, /*minimize=*/false);
  REQUIRE(effects.size() == 3);
  CHECK(effects[0].path == "lr");
  CHECK(effects[0].importance > 0.8);
  CHECK_THAT(effects[0].effect, Catch::StartsWith("higher is better"));
  auto kind =
      std::find_if(effects.begin(), effects.end(), [](auto& e) { return e.path == "kind"; });
  CHECK_THAT(kind->effect, Catch::StartsWith("best: \"adam\""));
  CHECK(effects.back().importance < effects[0].importance);
}
