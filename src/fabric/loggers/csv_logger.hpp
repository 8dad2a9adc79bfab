// CSVLogger: <root_dir>/<name>/version_N/metrics.csv, as Lightning's. The header is the sorted
// union of all keys (step included); new keys rewrite the file with the wider header.
// Deliberate difference: without an explicit step, the step is a counter of logged rows that
// never resets (Lightning uses the buffer length, which restarts at every flush: #17888).
#pragma once

#include <map>
#include <set>
#include <vector>

#include "fabric/loggers/logger.hpp"

namespace fabric {

struct CSVLoggerOptions {
  std::string root_dir{};
  std::string name = "lightning_logs";
  /// Unset: the next free version_N; an int: version_<int>; a string: that folder name.
  std::variant<std::monostate, int, std::string> version{};
  std::string prefix{};
  int64_t flush_logs_every_n_steps = 100;
};

class CSVLogger : public Logger {
 public:
  explicit CSVLogger(CSVLoggerOptions options);
  ~CSVLogger() override;

  std::string name() const override { return options_.name; }
  std::string version() const override { return version_; }
  std::string log_dir() const override { return log_dir_; }
  std::string metrics_file() const { return log_dir_ + "/metrics.csv"; }

  void log_metrics(const std::map<std::string, double>& metrics,
                   std::optional<int64_t> step) override;
  void save() override;

 private:
  void prepare_dir();

  CSVLoggerOptions options_;
  std::string version_;
  std::string log_dir_;
  bool prepared_ = false;
  std::vector<std::map<std::string, std::string>> pending_;
  std::set<std::string> written_keys_;
  int64_t auto_step_ = 0;
};

}  // namespace fabric
