#include "fabric/data/sampler.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace fabric::data {

std::vector<int64_t> epoch_indices(size_t n, const SamplerSpec& spec, int64_t epoch) {
  std::vector<int64_t> order(n);
  if (!spec.shuffle) {
    for (size_t i = 0; i < n; ++i) order[i] = int64_t(i);
  } else {
    uint64_t seed;
    if (spec.distributed) {
      seed = spec.seed + uint64_t(epoch);
    } else {
      // RandomSampler: seed = int(torch.empty((), dtype=torch.int64).random_().item())
      seed = uint64_t(at::empty({}, at::kLong).random_().item<int64_t>());
    }
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto perm = at::randperm(int64_t(n), gen, at::kLong);
    auto acc = perm.accessor<int64_t, 1>();
    for (size_t i = 0; i < n; ++i) order[i] = acc[int64_t(i)];
  }
  if (!spec.distributed || spec.num_replicas <= 1) return order;

  // DistributedSampler(drop_last=False): pad by repeating the head, then stride by replica.
  const size_t replicas = size_t(spec.num_replicas);
  const size_t per_replica = (n + replicas - 1) / replicas;
  const size_t total = per_replica * replicas;
  std::vector<int64_t> padded = order;
  while (padded.size() < total && n > 0) {
    size_t need = total - padded.size();
    padded.insert(padded.end(), order.begin(), order.begin() + std::min(need, order.size()));
  }
  std::vector<int64_t> shard;
  shard.reserve(per_replica);
  for (size_t i = size_t(spec.rank); i < total; i += replicas) shard.push_back(padded[i]);
  return shard;
}

namespace {
thread_local at::Generator* t_batch_generator = nullptr;
thread_local at::Generator t_storage;
}  // namespace

at::Generator& batch_generator() {
  if (t_batch_generator) return *t_batch_generator;
  static thread_local at::Generator fallback;
  fallback = at::detail::getDefaultCPUGenerator();
  return fallback;
}

namespace detail {

uint64_t batch_seed(uint64_t base, int rank, int64_t epoch, int64_t batch) {
  // splitmix64 over the tuple: distinct, well-mixed seeds for every (rank, epoch, batch).
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  uint64_t h = mix(base);
  h = mix(h ^ uint64_t(rank));
  h = mix(h ^ uint64_t(epoch));
  h = mix(h ^ uint64_t(batch));
  return h;
}

BatchGeneratorScope::BatchGeneratorScope(uint64_t seed) : previous_(t_batch_generator) {
  t_storage = at::make_generator<at::CPUGeneratorImpl>(seed);
  t_batch_generator = &t_storage;
}

BatchGeneratorScope::~BatchGeneratorScope() {
  t_batch_generator = previous_;
}

}  // namespace detail
}  // namespace fabric::data
