// [loggers] kind = "csv": Lightning's CSV layout under the run folder.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct CsvLoggerConfig {
  int64_t flush_logs_every_n_steps = 100;
};
}  // namespace

ComponentEntry csv_logger_entry() {
  static const auto spec =
      ParamSpec<CsvLoggerConfig>("loggers", "csv", "Lightning's CSV layout under the run folder.")
          .param(&CsvLoggerConfig::flush_logs_every_n_steps, "flush_logs_every_n_steps",
                 "Rows buffered between writes.")
          .check(ge(1));
  return {"loggers", "csv", &spec};
}

}  // namespace fabric::exp::components
