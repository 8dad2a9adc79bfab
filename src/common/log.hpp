// Library diagnostics through one spdlog logger named "fabric". Warnings are rank-zero only, as
// Lightning's rank_zero_warn; tests attach a sink to this logger to check them.
#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace fabric {

/// The library's logger (created on first use, writes to stderr).
std::shared_ptr<spdlog::logger> log();

/// Rank used to gate rank-zero messages; set by the strategy once ranks are known.
void set_log_rank(int global_rank);
int log_rank();

/// Emits a warning on global rank 0 only.
void warn(const std::string& message);
/// Emits an info line on global rank 0 only.
void info(const std::string& message);

}  // namespace fabric
