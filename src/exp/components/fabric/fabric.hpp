// [fabric] and [fabric.fsdp]: where and how the loop runs, a fixed table (no kind).
#pragma once

#include <string>

#include "exp/params/param_spec.hpp"

namespace fabric::exp {

/// [fabric.fsdp]: the fsdp strategy's options (fabric::FSDPOptions).
struct FsdpConfig {
  std::string sharding_strategy = "FULL_SHARD";
  std::string state_dict_type = "full";
  std::string unit = "block";
};

inline const ParamSpec<FsdpConfig>& fsdp_spec() {
  static const auto spec =
      ParamSpec<FsdpConfig>("fabric.fsdp", "",
                            "Sharded training (strategy = \"fsdp\"): what each rank keeps.")
          .param(&FsdpConfig::sharding_strategy, "sharding_strategy",
                 "FULL_SHARD: parameters, gradients and optimizer state sharded (ZeRO-3); "
                 "SHARD_GRAD_OP: gradients and optimizer state (ZeRO-2); NO_SHARD: as ddp.")
          .choices({"FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD"})
          .param(&FsdpConfig::state_dict_type, "state_dict_type",
                 "Checkpoints: full writes one consolidated file from rank 0, which Python's "
                 "torch.load reads and every strategy resumes from; sharded writes a folder with "
                 "one file per rank (no rank holds the whole model), resumable on any number of "
                 "processes.")
          .choices({"full", "sharded"})
          .param(&FsdpConfig::unit, "unit",
                 "What is gathered at a time: block (transformer_lm's decoder blocks, resnet's "
                 "residual blocks, each layer of mlp, cnn and sequential) or model (the whole "
                 "model at once).")
          .choices({"block", "model"});
  return spec;
}

struct FabricConfig {
  std::string accelerator = "auto";
  IntOrString devices{std::nullopt, "auto"};
  int64_t num_nodes = 1;
  std::string strategy = "auto";
  IntOrString precision{std::nullopt, "32-true"};
  FsdpConfig fsdp{};
};

inline const ParamSpec<FabricConfig>& fabric_spec() {
  static const auto spec =
      ParamSpec<FabricConfig>(
          "fabric", "", "Where and how the loop runs: accelerator, devices, strategy, precision.")
          .param(&FabricConfig::accelerator, "accelerator", "Device kind.")
          .choices({"auto", "cpu", "cuda", "gpu"})
          .param(&FabricConfig::devices, "devices",
                 "Devices per node: a count, -1, \"auto\" or indices \"0,1\".")
          .param(&FabricConfig::num_nodes, "num_nodes", "Number of nodes.")
          .check(ge(1))
          .param(&FabricConfig::strategy, "strategy",
                 "Distribution strategy: ddp replicates the model on every process; fsdp shards "
                 "it ([fabric.fsdp]).")
          .choices({"auto", "ddp", "dp", "fsdp"})
          .param(&FabricConfig::precision, "precision", "Numeric precision.")
          .choices({"32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "32",
                    "16", "64", "bf16"})
          .sub_table(&FabricConfig::fsdp, "fsdp", "The fsdp strategy's options.", fsdp_spec());
  return spec;
}

}  // namespace fabric::exp
