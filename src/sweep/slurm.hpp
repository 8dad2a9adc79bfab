// Sweeps on a SLURM cluster: the trials become a job array whose task i runs
// `fabric-exp sweep trial SWEEP i`. SQLite's WAL needs every writer on one host, so no two
// nodes write one store: each task writes its own store file beside the sweep
// (<sweep_dir>/slurm/trial-<i>.db, seeded with the sweep and its trial), and
// `fabric-exp sweep collect SWEEP` merges them into the main store. Trials are assigned up front,
// so only samplers that need no results (grid, random) and no pruner run this way.
#pragma once

#include <string>

#include "sweep/settings.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::sweep {

/// Queues every trial, seeds the task stores, writes <sweep_dir>/slurm/array.sbatch and, with
/// `submit`, runs sbatch on it. Returns the exit status for the command line.
int submit_slurm_array(SweepStore& sweeps, const SweepRecord& sweep, const SweepSettings& settings,
                       bool submit);

/// With a PostgreSQL store every task sees the others' results: the job array has one task per
/// parallel slot, each running `fabric-exp sweep work SWEEP` until the budget is spent (tpe and
/// pruning included, nothing to collect). The script names the store without its password,
/// which the tasks take from PGPASSWORD or ~/.pgpass.
int submit_slurm_workers(const SweepRecord& sweep, const std::string& store_url, bool submit);

/// Merges every task store of `sweep_id` into the store of `sweeps`; returns the number of
/// trials that have ended. The sweep is finished once every trial has.
int collect_slurm_results(SweepStore& sweeps, const std::string& sweep_id);

}  // namespace fabric::sweep
