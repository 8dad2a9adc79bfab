// A sweep's settings read from its [sweep] table, defaults filled from the declaration
// (exp::sweep_spec): what the controller, the trials and `sweep show` agree on.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>

#include "exp/recipe/search_space.hpp"
#include "sweep/pruner.hpp"
#include "sweep/sampler.hpp"

namespace fabric::sweep {

struct SweepSettings {
  std::string method, objective, direction, summary, pruner, launcher;
  std::optional<int64_t> max_trials{};
  int64_t parallel = 1, seed = 0, startup_trials = 10;
  bool multivariate = true, constant_liar = true;
  PrunerConfig pruning{};
  exp::SearchSpace space{};

  bool minimize() const { return direction == "minimize"; }
  SamplerConfig sampler() const;
};

/// From a [sweep] table (positions of diagnostics name `file`). Throws exp::RecipeError.
SweepSettings read_settings(const toml::table& sweep, const std::string& file);
/// From the TOML text the store keeps (SweepRecord::spec).
SweepSettings read_settings(const std::string& spec_toml);

}  // namespace fabric::sweep
