// The parts of a sweep that are pure functions: search spaces (recipe and command line),
// samplers, pruning decisions and parameter effects.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/search_space.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "sweep/controller.hpp"
#include "sweep/importance.hpp"
#include "sweep/pruner.hpp"
#include "sweep/sampler.hpp"
#include "sweep/sweep_store.hpp"

using fabric::exp::Dimension;
using fabric::exp::parse_sweep_argument;
using fabric::exp::RecipeError;
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

std::string errors_of(const std::string& recipe_text) {
  test_support::TempDir dir;
  std::ofstream(dir.str("r.toml")) << recipe_text;
  try {
    fabric::exp::load_recipe(dir.str("r.toml"));
  } catch (const RecipeError& e) {
    return e.what();
  }
  return "";
}

const char* kBase = R"(
[run]
max_epochs = 1
[model]
kind = "mlp"
[optimizer]
kind = "adam"
[data]
kind = "synthetic"
)";

}  // namespace

TEST_CASE("multirun arguments: lists, range, choice, intervals; plain overrides are not",
          "[sweep][space]") {
  auto d = parse_sweep_argument("optimizer.lr=1e-4,3e-4,1e-3");
  REQUIRE(d);
  CHECK(d->path == "optimizer.lr");
  CHECK(d->values == std::vector<std::string>{"0.0001", "0.0003", "0.001"});
  CHECK(parse_sweep_argument("run.seed=range(3)")->values ==
        std::vector<std::string>{"0", "1", "2"});
  CHECK(parse_sweep_argument("a.b=range(1,8,3)")->values ==
        std::vector<std::string>{"1", "4", "7"});
  CHECK(parse_sweep_argument("a.b=range(3,0,-1)")->values ==
        std::vector<std::string>{"3", "2", "1"});
  CHECK(parse_sweep_argument("optimizer.kind=choice(adam,sgd)")->values ==
        std::vector<std::string>{"\"adam\"", "\"sgd\""});
  CHECK(parse_sweep_argument("m.hidden=[64,64],[128]")->values ==
        std::vector<std::string>{"[64, 64]", "[128]"});
  auto u = parse_sweep_argument("++a.b=interval(0.1, 0.5)");
  CHECK(u->kind == Dimension::Kind::Uniform);
  CHECK(!u->log);
  CHECK(u->low == 0.1);
  CHECK(u->high == 0.5);
  auto l = parse_sweep_argument("a.b=tag(log, interval(1e-5, 1e-1))");
  CHECK(l->kind == Dimension::Kind::Uniform);
  CHECK(l->log);
  auto i = parse_sweep_argument("a.b=tag(log, int(interval(8, 512)))");
  CHECK(i->kind == Dimension::Kind::IntUniform);
  CHECK(i->log);
  CHECK(i->low == 8);
  // Not a sweep: one value, a list value, a quoted comma, a removal.
  CHECK_FALSE(parse_sweep_argument("optimizer.lr=0.1"));
  CHECK_FALSE(parse_sweep_argument("model.hidden=[64,64]"));
  CHECK_FALSE(parse_sweep_argument("run.name='a,b'"));
  CHECK_FALSE(parse_sweep_argument("~scheduler"));
  // Malformed forms name the argument.
  CHECK_THROWS_WITH(
      parse_sweep_argument("a.b=range(0)"),
      Catch::Contains("override 'a.b=range(0)'") && Catch::Contains("range() is empty"));
  CHECK_THROWS_WITH(parse_sweep_argument("a.b=range(1.5)"), Catch::Contains("integers"));
  CHECK_THROWS_WITH(parse_sweep_argument("a.b=interval(2,1)"), Catch::Contains("a < b"));
  CHECK_THROWS_WITH(parse_sweep_argument("a.b=tag(log,interval(0,1))"), Catch::Contains("a > 0"));
  CHECK_THROWS_WITH(parse_sweep_argument("a.b=tag(lin,interval(1,2))"),
                    Catch::Contains("tag(log, interval"));
  CHECK_THROWS_WITH(parse_sweep_argument("a.b=1,,2"), Catch::Contains("empty value"));
}

TEST_CASE("[sweep.parameters]: nested or dotted keys, lists and distributions", "[sweep][space]") {
  toml::table t = toml::parse(R"(
"optimizer.lr" = { distribution = "log_uniform", min = 1e-4, max = 1e-2 }
model.hidden = [[64], [128, 128]]
data = { batch_size = { distribution = "int_uniform", min = 16, max = 64 } }
run.seed = { values = [1, 2] }
)");
  std::vector<fabric::exp::Diagnostic> out;
  auto space = fabric::exp::parse_search_space(t, "r.toml", out);
  REQUIRE(out.empty());
  REQUIRE(space.size() == 4);
  std::map<std::string, const Dimension*> by_path;
  for (const auto& d : space) by_path[d.path] = &d;
  CHECK(by_path.at("optimizer.lr")->describe() == "log_uniform(0.0001, 0.01)");
  CHECK(by_path.at("model.hidden")->values == std::vector<std::string>{"[64]", "[128, 128]"});
  CHECK(by_path.at("data.batch_size")->count() == 49);
  CHECK(by_path.at("run.seed")->describe() == "[1, 2]");
}

TEST_CASE("a bad search space is reported at its key", "[sweep][space]") {
  const std::string sweep = std::string(kBase) +
                            "[sweep]\nobjective = \"val/accuracy\"\n"
                            "direction = \"maximize\"\n[sweep.parameters]\n";
  auto err = errors_of(
      sweep + "\"optimizer.lr\" = { distribution = \"log_unform\", min = 1e-4, max = 1e-2 }\n");
  CHECK_THAT(err, Catch::Contains("r.toml:14:") && Catch::Contains("did you mean 'log_uniform'?"));
  err =
      errors_of(sweep + "\"optimizer.lr\" = { distribution = \"uniform\", min = 1, max = 0.5 }\n");
  CHECK_THAT(err, Catch::Contains("min (1) must be below max (0.5)"));
  err = errors_of(sweep +
                  "\"optimizer.lr\" = { distribution = \"log_uniform\", min = 0, max = 1 }\n");
  CHECK_THAT(err, Catch::Contains("needs min > 0"));
  err = errors_of(sweep + "\"optimizer.lr\" = 0.1\n");
  CHECK_THAT(err, Catch::Contains("must be a list of values") && Catch::Contains("[0.1, ...]"));
  err = errors_of(sweep + "\"optimizer.lr\" = { distribution = \"uniform\", min = 0.1, mx = 1 }\n");
  CHECK_THAT(err, Catch::Contains("unknown key 'mx'") && Catch::Contains("did you mean 'max'?"));
  // Each value must make a valid recipe: a key that does not exist, a value out of range.
  err = errors_of(sweep + "\"optimizer.lrr\" = [0.1, 0.2]\n");
  CHECK_THAT(err,
             Catch::Contains("r.toml:14:") && Catch::Contains("sweep parameter 'optimizer.lrr'") &&
                 Catch::Contains("unknown key 'lrr'") && Catch::Contains("did you mean 'lr'?"));
  err = errors_of(sweep + "\"optimizer.lr\" = [0.1, -1.0]\n");
  CHECK_THAT(err, Catch::Contains("sweep parameter 'optimizer.lr' = -1.0") &&
                      Catch::Contains("must be > 0"));
  err = errors_of(sweep + "\"model.hidden\" = [\"wide\"]\n");
  CHECK_THAT(err, Catch::Contains("'model.hidden' must be a list of integers"));
  // A grid cannot enumerate a continuous distribution.
  err =
      errors_of(sweep + "\"optimizer.lr\" = { distribution = \"uniform\", min = 0.1, max = 1 }\n");
  CHECK_THAT(err, Catch::Contains("a grid needs lists of values") &&
                      Catch::Contains("use method = \"random\" or \"tpe\""));
  // A valid one.
  CHECK(errors_of(sweep + "\"optimizer.lr\" = [0.1, 0.2]\n\"data.batch_size\" = { distribution = "
                          "\"int_uniform\", min = 8, max = 16 }\n") == "");
}

TEST_CASE("[sweep] rules between keys", "[sweep][space]") {
  const std::string params = "[sweep.parameters]\n\"optimizer.lr\" = [0.1, 0.2]\n";
  CHECK_THAT(errors_of(std::string(kBase) + "[sweep]\nobjective = \"val/loss\"\n" + params),
             Catch::Contains("'sweep.objective' needs 'sweep.direction'"));
  CHECK_THAT(errors_of(std::string(kBase) + "[sweep]\nmethod = \"random\"\n" + params),
             Catch::Contains("method \"random\" needs 'sweep.max_trials'"));
  CHECK_THAT(errors_of(std::string(kBase) + "[sweep]\nmethod = \"tpe\"\nmax_trials = 5\n" + params),
             Catch::Contains("method \"tpe\" needs 'sweep.objective'"));
  CHECK_THAT(errors_of(std::string(kBase) +
                       "[sweep]\nobjective = \"test/accuracy\"\ndirection = \"maximize\"\n"
                       "pruner = \"median\"\n" +
                       params),
             Catch::Contains("must be a validation metric ('val/...')"));
  // slurm with a pruner is the store's question (PostgreSQL: yes), not the recipe's.
  CHECK_THAT(errors_of(std::string(kBase) +
                       "[sweep]\nobjective = \"val/loss\"\ndirection = \"minimize\"\n"
                       "pruner = \"asha\"\nlauncher = \"slurm\"\n" +
                       params),
             !Catch::Contains("slurm"));
  CHECK_THAT(errors_of(std::string(kBase) + "[sweep]\nmethod = \"bayes\"\n" + params),
             Catch::Contains("'sweep.method' must be one of grid, random, tpe"));
  // A recipe without [sweep] gets none from the defaults.
  test_support::TempDir dir;
  std::ofstream(dir.str("r.toml")) << kBase;
  auto recipe = fabric::exp::load_recipe(dir.str("r.toml"));
  CHECK_FALSE(fabric::exp::with_defaults(recipe.table).contains("sweep"));
}

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

namespace {

/// A random sweep's record, as `fabric-exp sweep` would create it.
fabric::sweep::SweepRecord random_sweep(const std::string& name, int64_t max_trials) {
  fabric::sweep::SweepRecord s;
  s.name = name;
  s.experiment = "e";
  s.method = "random";
  s.spec = "method = \"random\"";
  s.max_trials = max_trials;
  return s;
}

}  // namespace

TEST_CASE("16 workers claiming one sweep's trials at once take each number exactly once",
          "[sweep][claim][concurrency]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string location = test_support::fresh_store(backend, dir);
  std::string id;
  {
    fabric::store::RunStore runs(location);
    fabric::sweep::SweepStore sweeps(runs);
    id = sweeps.create(random_sweep("claims", 200), dir.str("runs"));
  }
  const std::string claimer = (test_support::exe_dir() / "sweep_claimer").string();
  auto r = test_support::run_at_once(
      16, [&](int) { return claimer + " '" + location + "' " + id; }, dir, "c");
  std::multiset<int> got;
  std::string other;
  int workers_with_claims = 0;
  for (int i = 0; i < 16; ++i) {
    std::istringstream out(test_support::read_file(dir.str("c" + std::to_string(i))));
    bool any = false;
    for (std::string line; std::getline(out, line);) {
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
        got.insert(std::stoi(line));
        any = true;
      } else {
        other += line + "\n";
      }
    }
    workers_with_claims += any;
  }
  INFO(other);
  REQUIRE(r.exit_code == 0);
  CHECK(other.empty());
  CHECK(got.size() == 200);
  CHECK(std::set<int>(got.begin(), got.end()).size() == 200);  // no number twice
  CHECK(*got.begin() == 0);
  CHECK(*got.rbegin() == 199);
  CHECK(workers_with_claims > 1);
  fabric::store::RunStore runs(location);
  fabric::sweep::SweepStore sweeps(runs);
  const auto trials = sweeps.trials(id);
  REQUIRE(trials.size() == 200);
  for (const auto& t : trials) {
    CHECK(t.status == fabric::store::Status::Finished);
    CHECK(t.value == double(t.number));
  }
  // An ended trial is not ended again, nor started again.
  CHECK_THROWS_AS(sweeps.end_trial(id, 5, fabric::store::Status::Failed, std::nullopt, "late"),
                  fabric::store::StateConflict);
  CHECK_THROWS_AS(sweeps.start_trial(id, 5, "x = 5"), fabric::store::StateConflict);
  CHECK(sweeps.trial(id, 5)->status == fabric::store::Status::Finished);
}

TEST_CASE("a sweep runs while any process beats it, and is stopped when nobody does",
          "[sweep][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  using fabric::store::Status;
  test_support::TempDir dir;
  fabric::store::RunStore runs(test_support::fresh_store(backend, dir));
  fabric::sweep::SweepStore sweeps(runs);
  const std::string id = sweeps.create(random_sweep("beats", 4), dir.str("runs"));
  auto set = [&](const std::string& assignments, double beat_age) {
    runs.db()
        .prepare("UPDATE sweeps SET " + assignments + ", heartbeat_at = ? WHERE id = ?")
        .bind_all({runs.db().now() - beat_age, id})
        .run();
  };
  // Its creator (this process) lives: running.
  CHECK(sweeps.reap_stale() == 0);
  CHECK(sweeps.get(id)->status == Status::Running);
  // Last beaten on another host one period ago: a worker there may beat again.
  set("host = 'elsewhere', pid = 1", fabric::sweep::kSweepHeartbeatSeconds);
  CHECK(sweeps.reap_stale() == 0);
  // Two periods without a beat: nobody works on it.
  set("host = 'elsewhere', pid = 1", 2 * fabric::sweep::kSweepHeartbeatSeconds + 1);
  CHECK(sweeps.reap_stale() == 1);
  CHECK(sweeps.get(id)->status == Status::Stopped);
  // A worker outlived whoever stopped it: its heartbeat runs the sweep again, as its process.
  sweeps.heartbeat(id);
  auto again = sweeps.get(id);
  CHECK(again->status == Status::Running);
  CHECK(again->pid == int64_t(getpid()));
  CHECK(again->host == fabric::store::hostname());
  // A process that leaves it to workers elsewhere is no longer watched, only their heartbeats.
  set("pid = 99999999", 0);  // no such process on this host
  sweeps.leave(id);          // not this process's: nothing changes
  CHECK(sweeps.reap_stale() == 1);
  sweeps.heartbeat(id);
  sweeps.leave(id);
  CHECK(sweeps.get(id)->pid == 0);
  CHECK(sweeps.reap_stale() == 0);
  set("pid = 0", 2 * fabric::sweep::kSweepHeartbeatSeconds + 1);
  CHECK(sweeps.reap_stale() == 1);
  // An ended sweep is never brought back.
  sweeps.set_status(id, Status::Finished);
  sweeps.heartbeat(id);
  CHECK(sweeps.get(id)->status == Status::Finished);
}

TEST_CASE(
    "a sweep lives while a trial's run does: its controller's death stops nothing, and "
    "--resume is refused rather than run the trial twice",
    "[sweep][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  using fabric::store::Status;
  test_support::TempDir dir;
  const std::string store = test_support::fresh_store(backend, dir);
  fabric::store::RunStore runs(store);
  fabric::sweep::SweepStore sweeps(runs);
  const std::string id = sweeps.create(random_sweep("killed-controller", 4), dir.str("runs"));
  // Trial 0 runs in this process (its run's pid is ours, and beats).
  sweeps.start_trial(id, 0, "x = 0");
  fabric::store::NewRun nr;
  nr.name = "trial-0";
  nr.runs_root = dir.str("runs");
  const std::string run = runs.create_run(nr);
  sweeps.attach_run(id, 0, run);
  // The process the sweep row names (the controller, or one of several workers) is killed.
  runs.db().prepare("UPDATE sweeps SET pid = 99999999 WHERE id = ?").bind_all({id}).run();
  CHECK(sweeps.reap_stale() == 0);
  CHECK(sweeps.get(id)->status == Status::Running);
  fabric::sweep::SweepRequest resume;
  resume.store = store;
  resume.resume = id;
  CHECK_THROWS_WITH(fabric::sweep::run_sweep(resume), Catch::Contains("is running"));
  CHECK(sweeps.trial(id, 0)->status == Status::Running);  // not requeued for a second process
  CHECK(sweeps.trial(id, 0)->run_id == run);
  // Its trial's process dies too: the run is failed, the sweep stopped, and resumable.
  runs.db().prepare("UPDATE runs SET pid = 99999999 WHERE id = ?").bind_all({run}).run();
  CHECK(sweeps.reap_stale() == 1);
  CHECK(sweeps.get(id)->status == Status::Stopped);
  CHECK(runs.get(run)->status == Status::Failed);
}
