// The side of a sweep inside a trial's process: after each validation, global rank 0 asks the
// sweep's pruner (sweep/pruner.hpp) with the trial's objective so far and the other trials'
// values in the store, records a decision to prune with the trial, and every rank stops at
// that validation. A trial of a sweep without a pruner reports nothing.
#pragma once

#include <memory>
#include <string>

#include "engine/callbacks.hpp"
#include "store/shared_run_store.hpp"

namespace fabric::engine {

/// The callback for trial `number` of sweep `sweep_id`, reading and writing through `store`
/// (the run's connection; null on the ranks other than global rank 0, which never use it).
/// Its state (the values reported so far) travels in the run's checkpoint.
std::shared_ptr<EngineCallback> make_trial_pruner(std::shared_ptr<store::SharedRunStore> store,
                                                  const std::string& sweep_id, int64_t number);

}  // namespace fabric::engine
