// [callbacks] kind = "checkpoint": Saves checkpoints, keeping the best by a monitored metric.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CheckpointCallbackConfig {
  std::string monitor = "val/loss";
  std::string mode = "min";
  int64_t save_top_k = 1;
  bool save_last = true;
  int64_t every_n_epochs = 1;
};

inline const auto& checkpoint_callback_spec() {
  static const auto spec =
      ParamSpec<CheckpointCallbackConfig>(
          "callbacks", "checkpoint", "Saves checkpoints, keeping the best by a monitored metric.")
          .param(&CheckpointCallbackConfig::monitor, "monitor", "Metric to rank checkpoints by.")
          .param(&CheckpointCallbackConfig::mode, "mode", "Whether lower or higher is better.")
          .choices({"min", "max"})
          .param(&CheckpointCallbackConfig::save_top_k, "save_top_k",
                 "How many best checkpoints to keep (-1: all).")
          .check(ge(-1))
          .param(&CheckpointCallbackConfig::save_last, "save_last",
                 "Also keep the latest as checkpoints/last.ckpt (the resume point).")
          .param(&CheckpointCallbackConfig::every_n_epochs, "every_n_epochs",
                 "Checkpoint every N epochs.")
          .check(ge(1));
  return spec;
}

}  // namespace fabric::exp::components
