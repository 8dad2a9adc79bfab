// [loggers] kind = "store": The SQLite run store (always on; this entry tunes it).
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct StoreLoggerConfig {
  double flush_seconds = 1.0;
};
}  // namespace

ComponentEntry store_logger_entry() {
  static const auto spec =
      ParamSpec<StoreLoggerConfig>("loggers", "store",
                                   "The SQLite run store (always on; this entry tunes it).")
          .param(&StoreLoggerConfig::flush_seconds, "flush_seconds",
                 "Flush buffered metrics at most this often.")
          .check(gt(0));
  return {"loggers", "store", &spec};
}

}  // namespace fabric::exp::components
