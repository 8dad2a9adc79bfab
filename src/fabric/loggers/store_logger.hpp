// StoreLogger: the run store (the SQLite file or PostgreSQL database `fabric-exp runs` and the
// web UI read) as a Fabric Logger, like Lightning's MLFlowLogger. Metrics go to a background
// writer (store/metric_writer.hpp), so log_dict costs the training loop a mutex and a push;
// save() writes what is buffered (before a checkpoint); finalize() ends the run.
//
//   auto store = std::make_shared<fabric::StoreLogger>(
//       fabric::StoreLoggerOptions{.store = "runs/fabric-exp.db", .name = "my-script"});
//   fabric::Fabric fabric({.loggers = {store}});
//   fabric.log("train/loss", loss.item<double>(), step);   // `fabric-exp runs` lists it
//
// Rank 0 records; other ranks' calls do nothing. A point's epoch is the dict's "epoch" value,
// or the last one logged (Lightning's trainer logs "epoch" with every dict).
#pragma once

#include <memory>
#include <string>

#include "fabric/loggers/logger.hpp"

namespace fabric::store {
class MetricWriter;
class SharedRunStore;
}  // namespace fabric::store

namespace fabric {

struct StoreLoggerOptions {
  /// A SQLite file's path or a postgresql:// URL; "": $FABRIC_EXP_STORE, else runs/fabric-exp.db.
  std::string store{};
  std::string name = "fabric";  // the run's name (a plain name: it names the run's folder)
  std::string experiment = "default";
  std::string root_dir = "runs";  // the run's folder is <root_dir>/<name>-<id>
  double flush_seconds = 1.0;     // buffered metrics are written at most this often
};

class StoreLogger : public Logger {
 public:
  /// A run of its own: created (status running, this process's host and pid) on rank 0.
  explicit StoreLogger(StoreLoggerOptions options);
  /// Records into a run someone else created and ends (fabric-exp run); `writer` is its writer.
  StoreLogger(std::shared_ptr<store::SharedRunStore> store, std::string run_id,
              std::shared_ptr<store::MetricWriter> writer);
  ~StoreLogger() override;

  std::string name() const override { return "store"; }
  /// The run's id, as `fabric-exp show` takes it.
  std::string version() const override { return run_id_; }
  std::string log_dir() const override { return run_dir_; }
  void log_metrics(const std::map<std::string, double>& metrics,
                   std::optional<int64_t> step) override;
  void save() override;
  /// A run of its own ends "success" -> finished, "aborted" -> killed, anything else -> failed;
  /// a run of fabric-exp's is ended by fabric-exp, with its exit status.
  void finalize(const std::string& status) override;

 private:
  std::shared_ptr<store::SharedRunStore> store_;
  std::shared_ptr<store::MetricWriter> writer_;
  std::string run_id_, run_dir_;
  bool owns_run_ = false, finalized_ = false;
  int64_t epoch_ = 0, rows_ = 0;
};

}  // namespace fabric
