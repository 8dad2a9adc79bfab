// [loggers] kind = "csv": Lightning's CSV layout under the run folder.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CsvLoggerConfig {
  int64_t flush_logs_every_n_steps = 100;
};

inline const auto& csv_logger_spec() {
  static const auto spec =
      ParamSpec<CsvLoggerConfig>("loggers", "csv", "Lightning's CSV layout under the run folder.")
          .param(&CsvLoggerConfig::flush_logs_every_n_steps, "flush_logs_every_n_steps",
                 "Rows buffered between writes.")
          .check(ge(1));
  return spec;
}

}  // namespace fabric::exp::components
