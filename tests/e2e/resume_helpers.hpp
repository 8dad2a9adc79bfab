// What the resume and distributed tests share: runs long enough to interrupt, and checks that
// two runs ended with the same weights and the same metrics.
#pragma once

#include <set>
#include <string>

#include "support/helpers.hpp"

namespace e2e::resume {

/// A run long enough (~3 s on 2 cores) to be interrupted in the middle.
inline const std::string kLongRun =
    " data.samples=80000 run.max_epochs=3 model.hidden=[256,256] model.dropout=0.1 data.workers=2";
/// The same on two processes (ddp, fsdp), where each step costs more: still several seconds
/// past the signal's 0.8 s, with a third of the samples.
inline const std::string kLongRunTwoProcesses =
    " data.samples=24000 run.max_epochs=3 model.hidden=[256,256] model.dropout=0.1 data.workers=2";

/// Starts a run, waits until it has logged some steps, sends `sig`, and returns its exit code.
int interrupt_run(const test_support::TempDir& dir, const std::string& args, int sig);
/// The one run of a fresh store: quickstart stopped by SIGTERM with its checkpoint; its id.
std::string sigtermed_quickstart(const test_support::TempDir& dir);
/// The names of the model tensors a checkpoint holds.
std::set<std::string> checkpoint_model_keys(const std::string& path);
/// The two runs' last checkpoints hold bit-identical model tensors.
void require_same_weights(const test_support::TempDir& dir, const std::string& a_id,
                          const std::string& b_id);
/// Both runs have the same (key, step) rows with the same values (reproducible_metrics).
void require_same_metrics(const test_support::TempDir& dir, const std::string& a,
                          const std::string& b);

}  // namespace e2e::resume
