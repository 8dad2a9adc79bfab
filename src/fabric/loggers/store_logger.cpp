#include "fabric/loggers/store_logger.hpp"

#include <exception>

#include "common/log.hpp"
#include "store/metric_writer.hpp"
#include "store/shared_run_store.hpp"

namespace fabric {

StoreLogger::StoreLogger(StoreLoggerOptions options) : owns_run_(true) {
  if (log_rank() != 0) return;
  store_ = std::make_shared<store::SharedRunStore>(
      options.store.empty() ? store::default_store_path() : options.store);
  store::NewRun run;
  run.name = options.name;
  run.experiment = options.experiment;
  run.runs_root = options.root_dir;
  store_->with([&](store::RunStore& s) {
    run_id_ = s.create_run(run);
    run_dir_ = s.get(run_id_)->run_dir;
  });
  writer_ = std::make_shared<store::MetricWriter>(store_, run_id_, options.flush_seconds);
}

StoreLogger::StoreLogger(std::shared_ptr<store::SharedRunStore> store, std::string run_id,
                         std::shared_ptr<store::MetricWriter> writer)
    : store_(std::move(store)), writer_(std::move(writer)), run_id_(std::move(run_id)) {}

StoreLogger::~StoreLogger() {
  // A program that never called finalize: it ended well unless an exception is unwinding it.
  if (owns_run_ && !finalized_) {
    try {
      finalize(std::uncaught_exceptions() > 0 ? "failed" : "success");
    } catch (const std::exception& e) {
      warn(std::string("the run store logger could not end its run: ") + e.what());
    }
  }
}

void StoreLogger::log_metrics(const std::map<std::string, double>& metrics,
                              std::optional<int64_t> step) {
  if (!writer_) return;
  if (auto it = metrics.find("epoch"); it != metrics.end()) epoch_ = int64_t(it->second);
  const int64_t s = step ? *step : rows_;
  ++rows_;
  const double now = store::now_seconds();
  for (const auto& [key, value] : metrics) writer_->add({key, s, epoch_, value, now});
}

void StoreLogger::save() {
  if (writer_) writer_->flush();
}

void StoreLogger::finalize(const std::string& status) {
  if (!writer_ || finalized_) return;
  finalized_ = true;
  if (!owns_run_) return save();
  writer_->close();
  const store::Status ended = status == "success"   ? store::Status::Finished
                              : status == "aborted" ? store::Status::Killed
                                                    : store::Status::Failed;
  store_->with([&](store::RunStore& s) {
    s.finish_run(run_id_, ended, ended == store::Status::Finished ? 0 : 1,
                 ended == store::Status::Finished ? "" : "the program ended it: " + status);
  });
}

}  // namespace fabric
