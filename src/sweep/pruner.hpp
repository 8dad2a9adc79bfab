// Pruning decisions, as pure functions of the values a trial reported at its validations and
// those of the other trials; the trial's process calls them (engine/trial_pruner.cpp) after
// each validation, so a pruned trial stops at the validation that condemned it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fabric::sweep {

/// [sweep] pruner (its declared choices).
enum class PrunerKind { None, Median, Asha };
/// "none", "median" or "asha"; throws std::invalid_argument on anything else.
PrunerKind pruner_kind(const std::string& name);

struct PrunerConfig {
  PrunerKind kind = PrunerKind::None;
  bool minimize = true;
  int64_t startup_trials = 5;  // median: finished trials needed before pruning
  int64_t warmup = 0;          // median: reports before a trial may be pruned
  int64_t min_resource = 1;    // asha: reports at rung 0
  int64_t reduction_factor = 3;
};

struct PruneDecision {
  bool prune = false;
  int64_t report = 0;             // 1-based number of the validation decided on
  std::optional<int64_t> rung{};  // asha
  double value = 0;               // the trial's value compared
  double threshold = 0;           // the median, or the rung's cut-off
  std::string reason{};           // for the run record and the log
};

/// Optuna's MedianPruner: at report k (after `warmup` reports, once `startup_trials` trials
/// have finished), prune when the trial's best value so far is worse than the median of the
/// finished trials' values at report k. `own` holds the trial's values, the last one new.
PruneDecision median_decision(const std::vector<double>& own,
                              const std::vector<std::vector<double>>& finished,
                              const PrunerConfig& config);

/// ASHA's rung for a report count: r when reports == min_resource * reduction_factor^r.
std::optional<int64_t> asha_rung(int64_t reports, const PrunerConfig& config);

/// Asynchronous successive halving (Optuna's SuccessiveHalvingPruner): a trial that reaches a
/// rung continues when its value is among the best max(1, n / reduction_factor) of the n
/// values recorded at that rung so far (its own included).
PruneDecision asha_decision(double value, const std::vector<double>& rung_values, int64_t rung,
                            int64_t report, const PrunerConfig& config);

}  // namespace fabric::sweep
