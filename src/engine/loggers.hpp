// The [[loggers]] components: where metrics go besides the run store (CSV, TensorBoard), and the
// store's own settings.
#pragma once

#include <memory>
#include <string>

#include "engine/component_factories.hpp"
#include "fabric/loggers/logger.hpp"

namespace fabric::engine {

struct LoggerContext {
  std::string run_dir{};  // "": a rank that does not know the run's folder, which writes no files
  double store_flush_seconds = 1.0;  // set by the `store` entry, which is not a Logger
};

/// [[loggers]]: a Logger handed to Fabric, or null (the `store` entry; a rank without a folder).
struct LoggerFamily {
  static constexpr const char* table = "loggers";
  using Product = std::shared_ptr<Logger>;
  using Context = LoggerContext;
};

void add_logger_factories(ComponentFactories& factories);

}  // namespace fabric::engine
