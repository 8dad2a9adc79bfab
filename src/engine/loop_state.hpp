// What the engine's callbacks see of the loop: counters, the latest metrics, and the actions
// they may take (log, save a checkpoint, stop). Passed to hooks as HookArgs{"loop": LoopState*}.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace fabric::engine {

struct LoopState {
  int64_t epoch = 0;              // current epoch (0-based)
  int64_t batch_in_epoch = 0;     // batches of this epoch consumed so far
  int64_t global_step = 0;        // optimizer steps taken
  int64_t total_steps = 0;        // the steps the run takes in all
  int64_t samples_seen = 0;       // training samples since (re)start, all ranks
  int64_t tokens_per_sample = 0;  // language models: tokens in one sample
  int64_t world_size = 1;
  bool is_global_zero = true;
  bool should_stop = false;  // set by early stopping or a sweep's pruner
  bool pruned = false;       // stopped by a sweep's pruner: no test, the run is "pruned"
  std::string stop_reason{};
  std::string checkpoint_dir{};
  /// The most recent value of every metric ("val/accuracy", "train/loss", ...).
  std::map<std::string, double> metrics{};
  /// The learning rate of each optimizer group.
  std::vector<double> learning_rates{};

  std::function<void(const std::map<std::string, double>&)> log;
  /// Writes a full resumable checkpoint to `path` (atomically; rank 0 writes) and registers it.
  std::function<void(const std::string& path)> save_checkpoint;
  /// Deletes a checkpoint written by save_checkpoint and forgets it.
  std::function<void(const std::string& path)> remove_checkpoint;
};

}  // namespace fabric::engine
