// Options of the fsdp strategy (Lightning's FSDPStrategy arguments that make sense in C++). Light
// on purpose: FabricOptions carries them, and every translation unit includes FabricOptions.
#pragma once

#include <functional>
#include <string>

namespace torch::nn {
class Module;
}

namespace fabric {

/// Whether the submodule at dotted `name` ("blocks.0") becomes a sharding unit: the C++ form of
/// Lightning's `auto_wrap_policy`. The unit's forward must run through fabric::fsdp_unit.
using UnitPolicy = std::function<bool(const std::string& name, const torch::nn::Module& module)>;

/// The policy that makes every submodule of type Impl a unit (Lightning:
/// `auto_wrap_policy={Block}`).
template <class Impl>
UnitPolicy units_of_type() {
  return [](const std::string&, const torch::nn::Module& m) {
    return dynamic_cast<const Impl*>(&m) != nullptr;
  };
}

struct FSDPOptions {
  /// FULL_SHARD (parameters, gradients and optimizer state sharded: ZeRO-3), SHARD_GRAD_OP
  /// (gradients and optimizer state: ZeRO-2) or NO_SHARD (DDP).
  std::string sharding_strategy = "FULL_SHARD";
  /// "full": fabric.save writes one consolidated file from rank 0 (torch.load reads it, every
  /// strategy loads it). "sharded": a folder with one file per rank and an index.
  std::string state_dict_type = "full";
  /// Null: the whole model is one unit (gathered for each forward and backward).
  UnitPolicy auto_wrap_policy{};
  /// "auto": nccl on CUDA, gloo on CPU.
  std::string process_group_backend = "auto";
};

}  // namespace fabric
