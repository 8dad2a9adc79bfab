// The search space of a sweep, written in the recipe ([sweep.parameters]) or on the command line
// (multirun arguments): what parses, and each bad space reported at its key.
#include <catch2/catch.hpp>

#include <fstream>

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/search_space.hpp"
#include "support/helpers.hpp"

using fabric::exp::Dimension;
using fabric::exp::parse_sweep_argument;
using fabric::exp::RecipeError;
using fabric::exp::SearchSpace;

namespace {

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
