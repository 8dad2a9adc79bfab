#include "sweep/settings.hpp"

#include "exp/recipe/recipe.hpp"

namespace fabric::sweep {

SamplerConfig SweepSettings::sampler() const {
  SamplerConfig c;
  c.method = method;
  c.seed = uint64_t(seed);
  c.minimize = minimize();
  c.startup_trials = startup_trials;
  return c;
}

SweepSettings read_settings(const toml::table& sweep, const std::string& file) {
  toml::table wrapper;
  wrapper.insert("sweep", sweep);
  const toml::table filled = exp::with_defaults(wrapper);
  const toml::table& t = *filled["sweep"].as_table();
  SweepSettings s;
  s.method = t["method"].value_or(std::string("grid"));
  s.objective = t["objective"].value_or(std::string());
  s.direction = t["direction"].value_or(std::string("minimize"));
  s.summary = t["summary"].value_or(std::string("last"));
  s.pruner = t["pruner"].value_or(std::string("none"));
  s.launcher = t["launcher"].value_or(std::string("local"));
  s.max_trials = t["max_trials"].value<int64_t>();
  s.parallel = t["parallel"].value_or(int64_t(1));
  s.seed = t["seed"].value_or(int64_t(0));
  s.startup_trials = t["startup_trials"].value_or(int64_t(10));
  s.pruning.kind = s.pruner;
  s.pruning.minimize = s.minimize();
  s.pruning.startup_trials = t["pruner_startup_trials"].value_or(int64_t(5));
  s.pruning.warmup = t["pruner_warmup"].value_or(int64_t(0));
  s.pruning.min_resource = t["min_resource"].value_or(int64_t(1));
  s.pruning.reduction_factor = t["reduction_factor"].value_or(int64_t(3));
  if (const auto* params = sweep["parameters"].as_table()) {
    std::vector<exp::Diagnostic> problems;
    s.space = exp::parse_search_space(*params, file, problems);
    if (!problems.empty()) throw exp::RecipeError(problems);
  }
  return s;
}

SweepSettings read_settings(const std::string& spec_toml) {
  return read_settings(toml::parse(spec_toml), "sweep spec");
}

}  // namespace fabric::sweep
