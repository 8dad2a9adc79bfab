// FSDP: each rank keeps 1/world_size of every parameter, its gradient and its optimizer state.
//
// Every parameter is flattened, padded to a multiple of world_size and split; rank r keeps chunk r
// as the parameter's data, so the optimizer (built before or after setup) steps on shards and
// its state is shard-sized. The module's parameters keep their identity: their data switches
// between the shard and a view of their unit's gathered buffer.
//
// A unit (the root model, plus the submodules the auto-wrap policy picks and whose forward runs
// through fabric::fsdp_unit) is all-gathered before its forward. FULL_SHARD frees a non-root
// unit's buffer after its forward (its storage shrinks to zero bytes, so the views autograd saved
// hold no memory) and a hook on the unit's outputs gathers it into the same storage before its
// backward. Post hooks on the gradient accumulators reduce-scatter a unit's gradients as soon as
// its last one is accumulated, average them, and free the full gradients and parameters.
// SHARD_GRAD_OP keeps a unit gathered from forward to the end of its backward. NO_SHARD is DDP.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fabric/strategies/ddp.hpp"
#include "fabric/strategies/fsdp_options.hpp"

namespace fabric {

enum class ShardingStrategy { FullShard, ShardGradOp, NoShard };

/// "FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD" (case-insensitive); ValueError otherwise.
ShardingStrategy parse_sharding_strategy(const std::string& name);

class FSDPStrategy : public DDPStrategy {
 public:
  FSDPStrategy(AcceleratorKind accelerator, std::vector<c10::Device> devices, int num_nodes,
               ClusterEnvironment environment, FSDPOptions options);

  std::string name() const override { return "fsdp"; }
  std::shared_ptr<StrategyModuleState> setup_module(ModuleRef& module) override;
  bool saves_sharded() const override { return options_.state_dict_type == "sharded"; }
  const FSDPOptions& fsdp_options() const { return options_; }
  ShardingStrategy sharding_strategy() const { return sharding_; }

 private:
  FSDPOptions options_;
  ShardingStrategy sharding_;
};

}  // namespace fabric
