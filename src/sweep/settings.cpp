#include "sweep/settings.hpp"

#include "exp/recipe/recipe.hpp"

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
  SweepSettings s;
  static_cast<exp::SweepConfig&>(s) = exp::sweep_spec().parse(sweep);
  s.pruning.kind = pruner_kind(s.pruner);
  s.pruning.minimize = s.minimize();
  s.pruning.startup_trials = s.pruner_startup_trials;
  s.pruning.warmup = s.pruner_warmup;
  s.pruning.min_resource = s.min_resource;
  s.pruning.reduction_factor = s.reduction_factor;
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
