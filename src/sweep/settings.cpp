#include "sweep/settings.hpp"

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/tables.hpp"

namespace fabric::sweep {

SamplerConfig SweepSettings::sampler() const {
  SamplerConfig c;
  c.method = method;
  c.seed = uint64_t(seed);
  c.minimize = minimize();
  c.startup_trials = startup_trials;
  c.multivariate = multivariate;
  c.constant_liar = constant_liar;
  return c;
}

SweepSettings read_settings(const toml::table& sweep, const std::string& file) {
  const exp::SweepConfig c = exp::sweep_spec().parse(sweep);
  SweepSettings s;
  s.method = c.method;
  s.objective = c.objective.value_or("");
  // Validation asks for a direction with an objective; without one nothing is compared.
  s.direction = c.direction.value_or("minimize");
  s.summary = c.summary;
  s.pruner = c.pruner;
  s.launcher = c.launcher;
  s.max_trials = c.max_trials;
  s.parallel = c.parallel;
  s.seed = c.seed;
  s.startup_trials = c.startup_trials;
  s.multivariate = c.multivariate;
  s.constant_liar = c.constant_liar;
  s.pruning.kind = pruner_kind(s.pruner);
  s.pruning.minimize = s.minimize();
  s.pruning.startup_trials = c.pruner_startup_trials;
  s.pruning.warmup = c.pruner_warmup;
  s.pruning.min_resource = c.min_resource;
  s.pruning.reduction_factor = c.reduction_factor;
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
