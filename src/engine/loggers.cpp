#include "engine/loggers.hpp"

#include "exp/components/loggers/csv.hpp"
#include "exp/components/loggers/store.hpp"
#include "exp/components/loggers/tensorboard.hpp"
#include "fabric/loggers/csv_logger.hpp"
#include "fabric/loggers/store_logger.hpp"
#include "fabric/loggers/tensorboard_logger.hpp"
#include "store/metric_writer.hpp"

namespace fabric::engine {

void add_logger_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<LoggerFamily>(
      store_logger_spec(),
      [](const StoreLoggerConfig& c, LoggerContext& context) -> std::shared_ptr<Logger> {
        if (!context.writer) return nullptr;
        context.writer->set_flush_seconds(c.flush_seconds);
        return std::make_shared<StoreLogger>(context.store, context.run_id, context.writer);
      });
  f.add<LoggerFamily>(
      csv_logger_spec(),
      [](const CsvLoggerConfig& c, LoggerContext& context) -> std::shared_ptr<Logger> {
        if (context.run_dir.empty()) return nullptr;
        CSVLoggerOptions csv;
        csv.root_dir = context.run_dir;
        csv.name = "";
        csv.version = std::string("csv");
        csv.flush_logs_every_n_steps = c.flush_logs_every_n_steps;
        return std::make_shared<CSVLogger>(csv);
      });
  f.add<LoggerFamily>(
      tensorboard_logger_spec(),
      [](const TensorboardLoggerConfig&, LoggerContext& context) -> std::shared_ptr<Logger> {
        if (context.run_dir.empty()) return nullptr;
        TensorBoardLoggerOptions tb;
        tb.root_dir = context.run_dir;
        tb.name = "";
        tb.version = std::string("tensorboard");
        return std::make_shared<TensorBoardLogger>(tb);
      });
}

}  // namespace fabric::engine
