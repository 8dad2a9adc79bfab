// A sweep's settings read from its [sweep] table, defaults filled from the declaration
// (exp::sweep_spec): what the controller, the trials and `sweep show` agree on.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>

#include "exp/components/sweep/sweep.hpp"
#include "exp/recipe/search_space.hpp"
#include "sweep/pruner.hpp"
#include "sweep/sampler.hpp"

namespace fabric::sweep {

/// The [sweep] table as declared (exp::SweepConfig, where each field and its default is written
/// once), with what the sweep derives from it.
struct SweepSettings : exp::SweepConfig {
  PrunerConfig pruning{};
  exp::SearchSpace space{};

  /// Validation asks for a direction with an objective; without one nothing is compared.
  bool minimize() const { return direction.value_or("minimize") == "minimize"; }
  SamplerConfig sampler() const;
};

/// From a [sweep] table (positions of diagnostics name `file`). Throws exp::RecipeError.
SweepSettings read_settings(const toml::table& sweep, const std::string& file);
/// From the TOML text the store keeps (SweepRecord::spec).
SweepSettings read_settings(const std::string& spec_toml);

}  // namespace fabric::sweep
