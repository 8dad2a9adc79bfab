// [loggers] kind = "store": the run store as a logger (fabric::StoreLogger).
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct StoreLoggerConfig {
  double flush_seconds = 1.0;
};

inline const auto& store_logger_spec() {
  static const auto spec =
      ParamSpec<StoreLoggerConfig>(
          "loggers", "store",
          "The run store, SQLite or PostgreSQL (every run has it; this entry tunes it).")
          .param(&StoreLoggerConfig::flush_seconds, "flush_seconds",
                 "Flush buffered metrics at most this often.")
          .check(gt(0));
  return spec;
}

}  // namespace fabric::exp::components
