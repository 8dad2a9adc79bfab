// Sweeps and their trials in the run store (tables `sweeps`, `trials`, `sweep_rungs`, schema
// migration 3). A trial is a run once its process has created one (trials.run_id); the trial row
// keeps what the sweep needs beyond the run: its parameters, its objective value, and why it was
// pruned.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/run_store.hpp"
#include "sweep/sampler.hpp"

namespace fabric::sweep {

/// How often a process working on a sweep beats its row (SweepStore::heartbeat).
inline constexpr double kSweepHeartbeatSeconds = 5;

struct SweepRecord {
  std::string id, name, experiment, method, objective, direction, summary;
  store::Status status = store::Status::Running;
  std::string spec{};  // the [sweep] table as TOML
  std::string recipe_path, recipe_text;
  std::string base_recipe{};  // TOML each trial runs before its parameters
  std::string sweep_dir, host;
  int64_t seed = 0, max_trials = 0, parallel = 1, pid = 0;
  double created_at = 0, ended_at = 0, heartbeat_at = 0;
  bool minimize() const { return direction == "minimize"; }
};

struct TrialRecord {
  int64_t number = 0;
  std::string run_id, params, error;  // params: TOML, "optimizer.lr" = 0.001
  store::Status status = store::Status::Running;
  std::optional<double> value{};
  std::optional<int64_t> pruned_report, pruned_rung;
  std::optional<double> pruned_value, pruned_threshold;
  double started_at = 0, ended_at = 0;
};

/// Finished trials with a value, best first by the objective, then the others by number.
std::vector<TrialRecord> ranked_trials(std::vector<TrialRecord> trials, bool minimize);
/// The best finished trial of `ranked` (from ranked_trials), or null.
const TrialRecord* best_trial(const std::vector<TrialRecord>& ranked);
/// The trials as the sampler sees them: those that ended with a value (finished, and pruned
/// unless `finished_only`), and unless `finished_only` those still running.
std::vector<Observation> observations(const exp::SearchSpace& space,
                                      const std::vector<TrialRecord>& trials, bool finished_only);

/// Why a trial was pruned (recorded with it).
struct PruneRecord {
  int64_t report = 0;
  std::optional<int64_t> rung{};
  double value = 0, threshold = 0;
};

class SweepStore {
 public:
  explicit SweepStore(store::RunStore& runs) : runs_(runs), db_(runs.db()) {}

  /// Inserts the sweep (status running, this host and pid) with a fresh id, returned, and
  /// creates its folder <runs_root>/sweeps/<name>-<id>.
  std::string create(SweepRecord sweep, const std::string& runs_root);
  /// Inserts a copy of a sweep recorded in another store (a SLURM task's own store).
  void insert(const SweepRecord& sweep);
  std::optional<SweepRecord> get(const std::string& id);
  /// A full id, a unique prefix, or "last". Throws store::StoreError otherwise.
  std::string resolve(const std::string& ref);
  /// Every sweep, newest first.
  std::vector<SweepRecord> list();
  void set_status(const std::string& id, store::Status status);
  /// Running again (resume), owned by this process.
  void reopen(const std::string& id);
  /// This process works on the sweep (a controller or a `sweep work` worker, every
  /// kSweepHeartbeatSeconds): the sweep is running, and this process is the one to watch. A
  /// stopped sweep runs again: a worker elsewhere outlived the process that stopped it.
  void heartbeat(const std::string& id);
  /// This process leaves the sweep to the workers still running its trials elsewhere: from now
  /// on only their heartbeats tell whether it runs.
  void leave(const std::string& id);
  /// Running sweeps nobody works on become "stopped" (they can be resumed or joined): the
  /// process that last beat is gone from this host, or nobody has beaten for two periods.
  /// First, running trials whose runs died (RunStore::reap_stale) are recorded as failed.
  int reap_stale();

  /// Trials in number order.
  std::vector<TrialRecord> trials(const std::string& id);
  std::optional<TrialRecord> trial(const std::string& id, int64_t number);
  /// A new trial row, or a trial that starts again (resume): status running, run_id cleared
  /// unless it continues that run. Throws StateConflict for a finished or pruned trial.
  void start_trial(const std::string& id, int64_t number, const std::string& params,
                   const std::string& run_id = "");
  /// A trial this process claimed to run (claim_trial).
  struct Claim {
    int64_t number = 0;
    bool continues = false;  // a queued or killed trial, rather than a new one
    std::string params{};
  };
  /// Claims the sweep's next trial for this process, under the sweep row's lock so that many
  /// workers never take one number twice: a queued or killed trial first (it continues), else
  /// the next number below max_trials, its parameters from `propose` (given every trial so far).
  /// nullopt when every number is taken. Trials whose run was marked failed while they ran (their
  /// worker's host died) are recorded as failed first: the budget counts them.
  std::optional<Claim> claim_trial(
      const std::string& id,
      const std::function<std::string(int64_t number, const std::vector<TrialRecord>& trials)>&
          propose);
  /// A running trial whose process is gone (a stopped sweep's) goes back to the queue.
  void requeue_trial(const std::string& id, int64_t number);
  /// A trial assigned ahead of running (a SLURM job array): status queued.
  void queue_trial(const std::string& id, int64_t number, const std::string& params);
  void attach_run(const std::string& id, int64_t number, const std::string& run_id);
  /// Records how a trial ended. Throws StateConflict when it already had (finished, failed or
  /// pruned), perhaps by another process's hand: nothing is written.
  void end_trial(const std::string& id, int64_t number, store::Status status,
                 std::optional<double> value, const std::string& error = "");
  void record_prune(const std::string& id, int64_t number, const PruneRecord& prune);

  /// The objective's summary ("last", "min" or "max") of a run, if it logged the key.
  std::optional<double> objective_value(const std::string& run_id, const std::string& key,
                                        const std::string& summary);
  /// Each finished trial's curve of `key` (values in step order): what the median pruner
  /// compares with. Excludes trial `except`.
  std::vector<std::vector<double>> finished_curves(const std::string& id, const std::string& key,
                                                   int64_t except);
  /// Records `value` for trial `number` at ASHA rung `rung` and returns every value recorded at
  /// that rung (its own included), in one write transaction.
  std::vector<double> enter_rung(const std::string& id, int64_t rung, int64_t number, double value);

  store::RunStore& runs() { return runs_; }

 private:
  /// Running trials whose run has failed are recorded as failed, with the run's error.
  void fail_trials_of_failed_runs();
  [[noreturn]] void throw_ended(const std::string& id, int64_t number,
                                const std::string& consequence);
  store::RunStore& runs_;
  store::Database& db_;
};

}  // namespace fabric::sweep
