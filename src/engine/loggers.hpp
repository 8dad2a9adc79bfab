// The [[loggers]] components: the Fabric loggers of a run. `store` is the run store's logger
// (every run has one; the entry tunes it), `csv` and `tensorboard` write files in the run's folder.
#pragma once

#include <memory>
#include <string>

#include "engine/component_factories.hpp"
#include "fabric/loggers/logger.hpp"

namespace fabric::store {
class MetricWriter;
class SharedRunStore;
}  // namespace fabric::store

namespace fabric::engine {

struct LoggerContext {
  std::string run_dir{};  // "": a rank that does not know the run's folder, which writes no files
  /// The run's record: its store, id and metric writer (null on the ranks that do not record).
  std::shared_ptr<store::SharedRunStore> store{};
  std::string run_id{};
  std::shared_ptr<store::MetricWriter> writer{};
};

/// [[loggers]]: a Logger handed to Fabric, or null (a rank without a folder or a record).
struct LoggerFamily {
  static constexpr const char* table = "loggers";
  using Product = std::shared_ptr<Logger>;
  using Context = LoggerContext;
};

void add_logger_factories(ComponentFactories& factories);

}  // namespace fabric::engine
