#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace fabric {
namespace {
std::atomic<int> g_rank{-1};

int initial_rank() {
  // As Lightning's rank_zero_only.rank: the first of these that is set, else 0.
  for (const char* name : {"RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}
}  // namespace

std::shared_ptr<spdlog::logger> log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("fabric");
    if (existing) return existing;
    auto l = spdlog::stderr_color_mt("fabric");
    l->set_pattern("[%n %l] %v");
    return l;
  }();
  return logger;
}

void set_log_rank(int global_rank) {
  g_rank = global_rank;
}

int log_rank() {
  int r = g_rank.load();
  return r >= 0 ? r : initial_rank();
}

void warn(const std::string& message) {
  if (log_rank() == 0) log()->warn(message);
}

void info(const std::string& message) {
  if (log_rank() == 0) log()->info(message);
}

}  // namespace fabric
