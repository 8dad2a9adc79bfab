// `fabric-exp sweep`: the controller. It owns trial assignment: it asks the sampler for trial
// N's parameters, records the trial, and starts `fabric-exp sweep trial SWEEP N` as a child
// process (its own process group, its output in the sweep's folder), at most `parallel` at
// once. A trial that crashes is recorded as failed and the sweep goes on. SIGINT/SIGTERM stop
// the running trials cleanly (each writes a checkpoint); `--resume` continues them and the
// remaining trial numbers, never re-running a trial that ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fabric::sweep {

struct SweepRequest {
  std::string recipe{};
  std::vector<std::string> args{};  // overrides and multirun forms (a=1,2  a=range(3) ...)
  std::string store{};              // "" : FABRIC_EXP_STORE or runs/fabric-exp.db
  std::string resume{};             // a sweep id, prefix or "last"
  std::string name{};
  std::optional<int64_t> parallel, max_trials;
  std::string launcher{};  // overrides [sweep] launcher
  bool dry_run = false;    // print the trials a grid or random sweep would run, run nothing
  bool submit = false;     // slurm: sbatch the job array
};

/// 0: the sweep finished with at least one finished trial; 1: every trial failed;
/// 128 + signal: stopped (resumable). Recipe problems throw exp::RecipeError.
int run_sweep(const SweepRequest& request);

/// `fabric-exp sweep work SWEEP`: joins a sweep recorded in `store` (created by `fabric-exp
/// sweep` on any host that reaches it) and, `parallel` at a time, claims its next trial, runs
/// it, records it, until every trial number is taken. 0 when the budget is spent (or the sweep
/// had ended); 128 + signal when stopped, this worker's trials left for any worker to continue.
int work_sweep(const std::string& sweep_ref, const std::string& store, int64_t parallel);

}  // namespace fabric::sweep
