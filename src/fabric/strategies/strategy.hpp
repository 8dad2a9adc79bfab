// Strategies decide how a model, its gradients and collectives span processes. The single-device
// strategy is the identity; DDP (strategies/ddp.*) averages gradients over c10d.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fabric {

class ModuleRef;

enum class ReduceOp { Sum, Mean, Max, Min, Product };

/// "sum", "mean" (or "avg"), "max", "min", "product" (case-insensitive); ValueError otherwise.
ReduceOp parse_reduce_op(const std::string& name);
std::string to_string(ReduceOp op);

/// How setup_dataloaders shards data for this strategy.
struct DistributedSamplerArgs {
  int num_replicas = 1;
  int rank = 0;
};

/// Per-model state a strategy keeps after wrapping it (DDP: gradient hooks and buckets).
class StrategyModuleState {
 public:
  virtual ~StrategyModuleState() = default;
  /// Turns gradient synchronisation during backward on or off (no_backward_sync).
  virtual void set_backward_sync(bool enabled) {}
  virtual bool backward_sync() const { return true; }

  // Sharding strategies (fsdp) only; the others keep whole parameters on every rank.
  virtual bool shards_parameters() const { return false; }
  /// Around the model's forward (FabricModule::forward): gathers the parameters of the root unit.
  virtual void before_forward() {}
  /// `outputs`: what the forward returned; hooks on them gather again for backward.
  virtual void after_forward(const std::vector<at::Tensor>& outputs) {}
  /// The forward threw: parameters go back to their shards. Returns context for the error.
  virtual std::string abort_forward() { return ""; }
  /// Every parameter in its full form, in place (fabric.save/load); collective.
  virtual void gather_full_params() {}
  /// Back to shards; `write_back`: the full parameters were loaded into and become the shards.
  virtual void release_full_params(bool write_back) {}
  /// Whether `param` is a parameter this state keeps sharded.
  virtual bool owns_shard(const at::Tensor& param) const { return false; }
  /// The shape of `param` unsharded.
  virtual std::vector<int64_t> full_shape(const at::Tensor& param) const {
    return param.sizes().vec();
  }
  /// An optimizer state tensor of a sharded `param` in the parameter's full form (collective),
  /// and back to this rank's shard.
  virtual at::Tensor full_state_tensor(const at::Tensor& param, const at::Tensor& value) {
    return value;
  }
  virtual at::Tensor shard_state_tensor(const at::Tensor& param, const at::Tensor& value) {
    return value;
  }
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string name() const = 0;
  virtual c10::Device root_device() const = 0;
  virtual int global_rank() const { return 0; }
  virtual int local_rank() const { return 0; }
  virtual int node_rank() const { return 0; }
  virtual int world_size() const { return 1; }
  virtual bool is_distributed() const { return world_size() > 1; }
  /// Whether setup, collectives and init_module need fabric.launch() first.
  virtual bool requires_launch() const { return false; }
  /// Whether fabric.save writes a folder of per-rank shards (fsdp's state_dict_type="sharded").
  virtual bool saves_sharded() const { return false; }
  /// Whether no_backward_sync does something (else it warns and is a no-op).
  virtual bool supports_backward_sync_control() const { return false; }

  /// Starts the processes this strategy needs (DDP: the other local ranks), unless an outside
  /// launcher already did.
  virtual void launch() {}
  /// Process-group initialisation for this process (after launch).
  virtual void setup_environment() {}
  /// Wraps a model that was moved to root_device(): DDP broadcasts rank 0's weights and
  /// installs gradient hooks. Returns the per-model state, or null.
  virtual std::shared_ptr<StrategyModuleState> setup_module(ModuleRef& module) { return nullptr; }

  /// In place on `tensor`.
  virtual void all_reduce_(at::Tensor& tensor, ReduceOp op) {}
  /// Stacks every rank's tensor into (world_size, ...); the identity on one process.
  virtual at::Tensor all_gather(const at::Tensor& tensor) { return tensor; }
  virtual void broadcast_(at::Tensor& tensor, int src) {}
  virtual std::vector<uint8_t> broadcast_bytes(std::vector<uint8_t> bytes, int src) {
    return bytes;
  }
  virtual void barrier() {}

  virtual std::optional<DistributedSamplerArgs> distributed_sampler_args() const {
    return std::nullopt;
  }
  virtual void teardown() {}
};

/// Runs everything on one device: cpu, or one GPU.
class SingleDeviceStrategy : public Strategy {
 public:
  explicit SingleDeviceStrategy(c10::Device device) : device_(device) {}
  std::string name() const override { return "single_device"; }
  c10::Device root_device() const override { return device_; }

 private:
  c10::Device device_;
};

}  // namespace fabric
