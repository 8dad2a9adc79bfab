// The trainer's insides, shared by its two files: trainer.cpp (the loop) and
// trainer_checkpoint.cpp (the position a checkpoint saves and a resume restores).
#pragma once

#include "engine/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <chrono>
#include <cmath>
#include <filesystem>
#include "engine/data.hpp"
#include "engine/loop_state.hpp"
#include "engine/loss.hpp"
#include "engine/metrics.hpp"
#include "engine/model.hpp"
#include "engine/optimizer.hpp"
#include "engine/scheduler.hpp"
#include "engine/step_profiler.hpp"
#include "engine/system_metrics.hpp"
#include "exp/components/run/run.hpp"
#include "fabric/data/sampler.hpp"

namespace fabric::engine {

/// The process's CPU generator: its state is part of the loop's position.
inline at::Generator& cpu_generator() {
  static at::Generator gen = at::detail::getDefaultCPUGenerator();
  return gen;
}

/// One fit: the run's components, the loop's position, and what a checkpoint saves. fit() is a
/// sequence of the named steps below.
struct Trainer::Impl {
  Fabric& fabric;
  const toml::table& resolved;
  const toml::table& source;
  std::vector<std::shared_ptr<EngineCallback>> callbacks;
  std::string run_dir;
  Reporter& out;
  TrainerHooks hooks;

  using Loader = DataLoader<data::TensorDataset>;
  exp::RunConfig run{};
  std::chrono::steady_clock::time_point started{};
  int rank = 0, world = 1;

  // ---- components (build) -------------------------------------------------------------------
  DataSplits splits{data::TensorDataset(at::zeros({0}), at::zeros({0})), {}, {}, {}, {}};
  Loss loss{};
  std::unique_ptr<MetricSet> metrics{};
  std::optional<FabricModule<Net>> model{};
  std::optional<FabricOptimizer> optimizer{};
  std::optional<Loader> train_source{}, val_source{}, test_source{};
  std::optional<Loader> train{}, val{}, test{};
  Schedule schedule{};
  int64_t accumulate = 1, total_steps = 0, max_epochs = 0;

  // ---- position (train step, epoch end) -----------------------------------------------------
  LoopState loop{};
  int64_t epoch = 0, batch_in_epoch = 0;
  double loss_sum = 0, loss_count = 0;
  at::Tensor pending_loss{};     // this epoch's losses not yet read back, summed on the device
  at::Tensor rng_epoch_start{};  // generator state when the current epoch began (its shuffle)
  bool at_epoch_end = false, resuming = false;
  std::chrono::steady_clock::time_point loop_started{};
  std::optional<StepProfiler> profiler{};
  std::optional<SystemMetrics> system_metrics{};
  FitResult result{};

  // ---- what a checkpoint holds (restore, save) ----------------------------------------------
  // Saved values: a checkpoint written at an epoch's end resumes at the start of the next one.
  int64_t saved_epoch = 0, saved_batch = 0, saved_step = 0;
  double saved_loss_sum = 0, saved_loss_count = 0;
  // Every rank's (sum, count) of its epoch's losses so far: [world, 2]. Each rank resumes its own.
  at::Tensor saved_loss_by_rank{};
  at::Tensor saved_rng{}, saved_rng_epoch{};
  std::string callback_state{};
  State state{};
  std::string last_checkpoint{};

  void build();
  void plan_length();
  void bind_state();
  /// loop.log: the one road of every metric, fabric.log_dict.
  void bind_log();
  void restore(const std::string& path);
  void call(const std::string& hook);
  std::map<std::string, double> evaluate(Loader& loader, const std::string& prefix);
  void validate();
  std::shared_ptr<Loader::Epoch> start_epoch();
  /// One batch: its loss, and the optimizer step at an accumulation boundary. Returns whether
  /// the epoch goes on.
  bool train_batch(const Loader::Batch& batch, int64_t num_batches, bool& stop);
  at::Tensor forward_backward(const Loader::Batch& batch, bool boundary, int64_t window);
  void optimizer_step();
  /// After an optimizer step: log, print, validate, stop at max_steps. Returns whether the epoch
  /// goes on.
  bool after_step(const at::Tensor& loss_value, bool& stop);
  int agreed_signal();
  void end_epoch(bool& stop);
  FitResult interrupted(int signal);
  void add_loss(const at::Tensor& value);
  void settle_losses();
  void save_checkpoint(const std::string& path);
  std::string encode_callbacks() const;
  void decode_callbacks(const std::string& text);
  FitResult finish();
};

}  // namespace fabric::engine
