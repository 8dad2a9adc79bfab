// What each swept parameter did to the objective, from the finished trials: the share of the
// objective's variance that the parameter alone explains (eta squared of a one-way ANOVA over
// its values, or over quartiles of a continuous one) and the direction of its effect.
#pragma once

#include <string>
#include <vector>

#include "sweep/sampler.hpp"

namespace fabric::sweep {

struct ParameterEffect {
  std::string path{};
  double importance = 0;  // eta squared in [0, 1]
  std::string effect{};   // "higher is better (Spearman +0.91)", "best: \"adam\" (mean 0.91)"
};

/// Sorted by importance, highest first. `minimize`: lower objective is better.
std::vector<ParameterEffect> parameter_effects(const exp::SearchSpace& space,
                                               const std::vector<Observation>& finished,
                                               bool minimize);

}  // namespace fabric::sweep
