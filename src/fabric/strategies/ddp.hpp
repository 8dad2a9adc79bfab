// DDP: one process per device, gradients averaged across processes during backward.
//
// Setup broadcasts rank 0's parameters and buffers. Each parameter's gradient accumulator gets a
// post hook; when every gradient of a size-capped bucket has been accumulated, the bucket is
// flattened and all-reduced asynchronously, so communication overlaps the rest of the backward
// pass (autograd hooks rather than torch::nn::parallel: the same code on LibTorch 1.13 and 2.x). A
// callback queued on the autograd engine waits for the buckets at the end of backward and writes
// the averaged gradients back. Buckets launch in a fixed order on every rank, so ranks never
// mismatch collectives. As DDP without find_unused_parameters, every rank must use the same
// parameters.
#pragma once

#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fabric/accelerators/accelerator.hpp"
#include "fabric/launcher/environment.hpp"
#include "fabric/strategies/strategy.hpp"

namespace c10d {
class ProcessGroup;
}

namespace fabric {

struct DDPOptions {
  /// "auto": nccl on CUDA, gloo on CPU.
  std::string process_group_backend = "auto";
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// Bucket size cap; the first bucket is capped at 1 MiB so communication starts early.
  size_t bucket_cap_mb = 25;
};

class DDPStrategy : public Strategy {
 public:
  DDPStrategy(AcceleratorKind accelerator, std::vector<c10::Device> devices, int num_nodes,
              ClusterEnvironment environment, DDPOptions options = {});
  ~DDPStrategy() override;

  std::string name() const override { return "ddp"; }
  c10::Device root_device() const override;
  int global_rank() const override { return global_rank_; }
  int local_rank() const override { return environment_.local_rank; }
  int node_rank() const override { return environment_.node_rank; }
  int world_size() const override { return world_size_; }
  bool is_distributed() const override { return true; }
  bool requires_launch() const override { return true; }
  bool supports_backward_sync_control() const override { return true; }
  const ClusterEnvironment& environment() const { return environment_; }

  /// Starts the other local processes unless a launcher outside fabric made them.
  void launch() override;
  void setup_environment() override;
  std::shared_ptr<StrategyModuleState> setup_module(ModuleRef& module) override;

  void all_reduce_(at::Tensor& tensor, ReduceOp op) override;
  at::Tensor all_gather(const at::Tensor& tensor) override;
  void broadcast_(at::Tensor& tensor, int src) override;
  std::vector<uint8_t> broadcast_bytes(std::vector<uint8_t> bytes, int src) override;
  void barrier() override;
  std::optional<DistributedSamplerArgs> distributed_sampler_args() const override {
    return DistributedSamplerArgs{world_size_, global_rank_};
  }
  void teardown() override;

  c10d::ProcessGroup& process_group() const;

 protected:
  /// Every rank starts from rank 0's parameters and buffers.
  void broadcast_module_from_rank0(ModuleRef& module);

 private:
  /// Collectives hang when ranks pass tensors of different shapes: compare them first.
  void check_same_shape(const at::Tensor& tensor, const char* op);
  /// Whether `tensor` must travel as fp32 because the backend cannot reduce its dtype.
  bool widens_for_gloo(const at::Tensor& tensor) const;

  AcceleratorKind accelerator_;
  std::vector<c10::Device> devices_;
  int num_nodes_;
  ClusterEnvironment environment_;
  DDPOptions options_;
  int global_rank_ = 0;
  int world_size_ = 1;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
};

}  // namespace fabric
