#include "fabric/utilities/seed.hpp"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstdlib>
#include <limits>
#include <string>

#include <spdlog/spdlog.h>

#include "common/log.hpp"

namespace fabric {

uint32_t seed_everything(std::optional<int64_t> seed, bool workers, bool verbose) {
  constexpr int64_t kMax = std::numeric_limits<uint32_t>::max();
  int64_t s = 0;
  if (!seed) {
    const char* env = std::getenv("PL_GLOBAL_SEED");
    if (!env) {
      warn("No seed found, seed set to 0");
    } else {
      try {
        size_t used = 0;
        s = std::stoll(env, &used);
        if (used != std::string(env).size()) throw std::invalid_argument(env);
      } catch (const std::exception&) {
        warn(std::string("Invalid seed found: '") + env + "', seed set to 0");
        s = 0;
      }
    }
  } else {
    s = *seed;
  }
  if (s < 0 || s > kMax) {
    warn(std::to_string(s) + " is not in bounds, numpy accepts from 0 to " + std::to_string(kMax));
    s = 0;
  }
  ::setenv("PL_GLOBAL_SEED", std::to_string(s).c_str(), 1);
  torch::manual_seed(uint64_t(s));  // CPU and every CUDA device
  std::srand(unsigned(s));
  ::setenv("PL_SEED_WORKERS", workers ? "1" : "0", 1);
  if (verbose) {
    std::string prefix = log_rank() > 0 ? "[rank: " + std::to_string(log_rank()) + "] " : "";
    log()->info(prefix + "Seed set to " + std::to_string(s));
  }
  return uint32_t(s);
}

void reset_seed() {
  const char* env = std::getenv("PL_GLOBAL_SEED");
  if (!env) return;
  const char* workers = std::getenv("PL_SEED_WORKERS");
  seed_everything(std::stoll(env), workers && std::string(workers) == "1", false);
}

uint64_t global_seed() {
  const char* env = std::getenv("PL_GLOBAL_SEED");
  if (!env) return 0;
  try {
    return std::stoull(env);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace fabric
