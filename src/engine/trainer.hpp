// The training loop a recipe compiles into: Fabric setup, epochs of accumulated and clipped
// optimizer steps, validation every N epochs or steps, test at the end, hooks through
// fabric.call at Lightning's points, and resumable checkpoints that capture everything a run
// needs to continue bit-for-bit (model, optimizer, scaler, RNG, position inside the epoch,
// callback state, running sums).
#pragma once

#include <toml++/toml.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/callbacks.hpp"
#include "engine/reporter.hpp"
#include "fabric/fabric.hpp"

namespace fabric::engine {

class NetImpl;

struct TrainerHooks {
  /// A signal number when the run should stop after the current step (0: keep going).
  std::function<int()> interrupted = [] { return 0; };
  /// Before a checkpoint is written to `path` (rank 0; the loggers have saved what was logged up
  /// to it): the digest recorded for the file it replaces no longer holds.
  std::function<void(const std::string& path)> before_checkpoint = [](const std::string&) {};
  /// Called (on rank 0) after a checkpoint file is in place under its final name.
  std::function<void(const std::string& path)> checkpoint_written = [](const std::string&) {};
  std::function<void(const std::string& path)> checkpoint_removed = [](const std::string&) {};
  /// After the model is built and before fabric.setup (fsdp picks its units then).
  std::function<void(const NetImpl& model)> model_built = [](const NetImpl&) {};
};

struct FitResult {
  int signal = 0;             // non-zero: interrupted by this signal (a checkpoint was written)
  bool pruned = false;        // stopped by a sweep's pruner
  std::string stop_reason{};  // early stopping, max_steps, ...
  std::string last_checkpoint{};
  std::map<std::string, bool> lower_is_better{};  // per logged metric key, as its metric declares
  int64_t global_step = 0, epochs = 0;
  double seconds = 0;
};

/// Callbacks of a recipe, to pass to the Fabric object before launch.
std::vector<std::shared_ptr<EngineCallback>> build_callbacks(const toml::table& resolved);

class Trainer {
 public:
  /// `resolved`: the recipe with every default filled; `source`: as written (positions).
  Trainer(Fabric& fabric, const toml::table& resolved, const toml::table& source,
          std::vector<std::shared_ptr<EngineCallback>> callbacks, std::string run_dir,
          Reporter& reporter, TrainerHooks hooks);
  ~Trainer();

  /// Trains; `resume_from` is a checkpoint written by this trainer ("" for a fresh start).
  FitResult fit(const std::string& resume_from = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabric::engine
