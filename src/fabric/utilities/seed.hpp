// seed_everything (Lightning's utilities/seed.py): one seed for torch's CPU and CUDA generators
// and C's rand(), remembered in PL_GLOBAL_SEED so that child processes (DDP ranks) and the
// distributed sampler use the same one.
#pragma once

#include <cstdint>
#include <optional>

namespace fabric {

/// Seeds everything and returns the seed. nullopt reads PL_GLOBAL_SEED (0 with a warning when
/// unset or invalid); values outside [0, 2^32-1] warn and use 0. Sets PL_SEED_WORKERS.
uint32_t seed_everything(std::optional<int64_t> seed = std::nullopt, bool workers = false,
                         bool verbose = true);
/// Re-applies PL_GLOBAL_SEED if it is set (no-op otherwise).
void reset_seed();
/// PL_GLOBAL_SEED, or 0 when unset (the distributed sampler's seed, as Lightning).
uint64_t global_seed();

}  // namespace fabric
