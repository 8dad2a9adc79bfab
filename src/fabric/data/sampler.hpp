// Index orders of one epoch, with the semantics of Python's SequentialSampler, RandomSampler and
// DistributedSampler (same torch.randperm calls, so the same orders for the same seeds).
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

namespace fabric::data {

struct SamplerSpec {
  bool shuffle = false;
  /// Distributed sharding (set by fabric.setup_dataloaders under DDP).
  bool distributed = false;
  int num_replicas = 1;
  int rank = 0;
  /// DistributedSampler's seed (the global seed); the order of epoch e uses seed + e.
  uint64_t seed = 0;
};

/// The indices of epoch `epoch` over `n` samples. Non-distributed shuffling draws a fresh seed
/// from the default CPU generator, as Python's RandomSampler does on each iter().
std::vector<int64_t> epoch_indices(size_t n, const SamplerSpec& spec, int64_t epoch);

/// The generator a dataset should use for randomness inside get / get_batch (augmentations).
/// The loader seeds it per batch from (global seed, rank, epoch, batch), so the values do not
/// depend on the number of workers or their scheduling. Outside a loader: the default generator.
at::Generator& batch_generator();

namespace detail {
uint64_t batch_seed(uint64_t base, int rank, int64_t epoch, int64_t batch);
/// Installs a per-batch generator for the current thread for its lifetime.
class BatchGeneratorScope {
 public:
  explicit BatchGeneratorScope(uint64_t seed);
  ~BatchGeneratorScope();

 private:
  at::Generator* previous_;
};
}  // namespace detail

}  // namespace fabric::data
