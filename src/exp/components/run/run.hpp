// [run]: what to run, a fixed table (no kind).
#pragma once

#include <optional>
#include <string>

#include "exp/params/param_spec.hpp"

namespace fabric::exp {

struct RunConfig {
  std::string name{};
  std::string experiment = "default";
  std::optional<int64_t> seed{};
  std::optional<int64_t> max_epochs{};
  std::optional<int64_t> max_steps{};
  int64_t val_every_n_epochs = 1;
  int64_t val_every_n_steps = 0;
  int64_t accumulate_grad_batches = 1;
  double gradient_clip_val = 0.0;
  std::string gradient_clip_algorithm = "norm";
  int64_t log_every_n_steps = 10;
  std::string output_dir = "runs";
  std::string memory_format = "auto";
  int64_t profile_step = 0;
  double system_metrics_interval = 5.0;
  bool cuda_graph = false;
};

inline const ParamSpec<RunConfig>& run_spec() {
  static const auto spec =
      ParamSpec<RunConfig>(
          "run", "", "What to run: length, validation cadence, accumulation, clipping, output.")
          .param(&RunConfig::name, "name", "Run name (default: the recipe's file name).")
          .param(&RunConfig::experiment, "experiment", "Experiment the run belongs to.")
          .param(&RunConfig::seed, "seed", "Global seed; unset: one is drawn and recorded.")
          .check(ge(0))
          .check(le(4294967295.0))
          .param(&RunConfig::max_epochs, "max_epochs", "Stop after this many epochs.")
          .check(ge(1))
          .param(&RunConfig::max_steps, "max_steps", "Stop after this many optimizer steps.")
          .check(ge(1))
          .param(&RunConfig::val_every_n_epochs, "val_every_n_epochs", "Validate every N epochs.")
          .check(ge(1))
          .param(&RunConfig::val_every_n_steps, "val_every_n_steps",
                 "Also validate every N optimizer steps (0: off).")
          .check(ge(0))
          .param(&RunConfig::accumulate_grad_batches, "accumulate_grad_batches",
                 "Batches per optimizer step.")
          .alias("grad_accum")
          .check(ge(1))
          .param(&RunConfig::gradient_clip_val, "gradient_clip_val",
                 "Clip gradients to this norm or value (0: off).")
          .check(ge(0))
          .param(&RunConfig::gradient_clip_algorithm, "gradient_clip_algorithm", "How to clip.")
          .choices({"norm", "value"})
          .param(&RunConfig::log_every_n_steps, "log_every_n_steps",
                 "Log training metrics every N steps.")
          .check(ge(1))
          .param(&RunConfig::output_dir, "output_dir",
                 "Folder under which each run gets its own folder.")
          .param(&RunConfig::memory_format, "memory_format",
                 "Layout of image batches and convolution weights; auto: channels_last for "
                 "models with 2-D convolutions (faster oneDNN and pooling kernels).")
          .choices({"auto", "channels_last", "contiguous"})
          .param(&RunConfig::profile_step, "profile_step",
                 "Profile this optimizer step (0: none): operators by self time are printed and "
                 "a Chrome trace is written to the run's profile.json.")
          .check(ge(0))
          .param(&RunConfig::system_metrics_interval, "system_metrics_interval",
                 "Seconds between samples of the sys/ metrics: the process's CPU % and resident "
                 "memory and, on CUDA, its device's memory in use and utilisation (0: off).")
          .check(ge(0))
          .param(&RunConfig::cuda_graph, "cuda_graph",
                 "Capture the training step in a CUDA graph (static shapes). Not supported yet.");
  return spec;
}

}  // namespace fabric::exp
