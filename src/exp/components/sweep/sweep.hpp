// [sweep]: how `fabric-exp sweep` explores the recipe, a fixed table (no kind). [sweep.parameters]
// is the search space (exp/recipe/search_space.hpp); `fabric-exp run` ignores the table.
#pragma once

#include <optional>
#include <string>

#include "exp/params/param_spec.hpp"

namespace fabric::exp {

/// [sweep]: how `fabric-exp sweep` explores the recipe. [sweep.parameters] is the search space
/// (exp/recipe/search_space.hpp); `fabric-exp run` ignores the table.
struct SweepConfig {
  std::string method = "grid";
  std::optional<std::string> objective{};
  std::optional<std::string> direction{};
  std::string summary = "last";
  std::optional<int64_t> max_trials{};
  int64_t parallel = 1;
  int64_t seed = 0;
  int64_t startup_trials = 10;
  bool multivariate = true;
  bool constant_liar = true;
  std::string pruner = "none";
  int64_t pruner_startup_trials = 5;
  int64_t pruner_warmup = 0;
  int64_t min_resource = 1;
  int64_t reduction_factor = 3;
  std::string launcher = "local";
};

inline const ParamSpec<SweepConfig>& sweep_spec() {
  static const auto spec =
      ParamSpec<SweepConfig>("sweep", "",
                             "How `fabric-exp sweep` explores the recipe (ignored by `run`).")
          .param(&SweepConfig::method, "method",
                 "grid: every combination; random: independent draws; tpe: Optuna's "
                 "tree-structured Parzen estimator.")
          .choices({"grid", "random", "tpe"})
          .param(&SweepConfig::objective, "objective",
                 "Metric that ranks trials, e.g. \"val/accuracy\" (needed by tpe and pruning).")
          .param(&SweepConfig::direction, "direction", "Whether a higher objective is better.")
          .choices({"maximize", "minimize"})
          .param(&SweepConfig::summary, "summary",
                 "Which value of the objective's curve ranks a trial.")
          .choices({"last", "min", "max"})
          .param(&SweepConfig::max_trials, "max_trials",
                 "Trials to run (grid: at most the grid's size, which is the default).")
          .check(ge(1))
          .param(&SweepConfig::parallel, "parallel", "Trials running at once, each a process.")
          .check(ge(1))
          .param(&SweepConfig::seed, "seed", "Seed of the sampler (random, tpe).")
          .check(ge(0))
          .param(&SweepConfig::startup_trials, "startup_trials",
                 "tpe: random trials before the model proposes.")
          .check(ge(1))
          .param(&SweepConfig::multivariate, "multivariate",
                 "tpe: model all parameters jointly (Optuna's multivariate TPE), so values "
                 "that work together are proposed together; false models each on its own "
                 "(Optuna's default).")
          .param(&SweepConfig::constant_liar, "constant_liar",
                 "tpe: count running trials as the worst ended ones, so trials proposed while "
                 "others run (parallel > 1, sweep work) spread out instead of repeating a point.")
          .param(&SweepConfig::pruner, "pruner",
                 "Stop unpromising trials at validation: median (Optuna's MedianPruner) or asha "
                 "(asynchronous successive halving).")
          .choices({"none", "median", "asha"})
          .param(&SweepConfig::pruner_startup_trials, "pruner_startup_trials",
                 "median: finished trials needed before any pruning.")
          .check(ge(0))
          .param(&SweepConfig::pruner_warmup, "pruner_warmup",
                 "median: validations of a trial before it may be pruned.")
          .check(ge(0))
          .param(&SweepConfig::min_resource, "min_resource",
                 "asha: validations at the first rung (rung r is at min_resource * "
                 "reduction_factor^r).")
          .check(ge(1))
          .param(&SweepConfig::reduction_factor, "reduction_factor",
                 "asha: a trial continues past a rung when in the top 1/reduction_factor there.")
          .check(ge(2))
          .param(&SweepConfig::launcher, "launcher",
                 "local: child processes; slurm: a job array script whose tasks run the trials.")
          .choices({"local", "slurm"})
          .free_table(
              "parameters",
              "The search space: recipe key -> a list of values, or a table { distribution, "
              "min, max } with distribution uniform, log_uniform, int_uniform or "
              "int_log_uniform.");
  return spec;
}

}  // namespace fabric::exp
