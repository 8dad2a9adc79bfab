// TensorBoardLogger: scalar summaries in a TensorBoard event file
// <root_dir>/<name>/version_N[/<sub_dir>]/events.out.tfevents.<time>.<host>.<pid>.<n>.
// Records are TFRecord-framed (length, masked CRC32C of the length, data, masked CRC32C of the
// data); each holds an Event protobuf encoded here by hand (wall_time, step, summary.value{tag,
// simple_value}), so no protobuf dependency is needed.
#pragma once

#include <cstdio>

#include "fabric/loggers/logger.hpp"

namespace fabric {

struct TensorBoardLoggerOptions {
  std::string root_dir{};
  std::string name = "lightning_logs";
  std::variant<std::monostate, int, std::string> version{};
  std::string prefix{};
  std::string sub_dir{};
  /// Flush after this many records (and on save/finalize).
  int max_queue = 10;
};

class TensorBoardLogger : public Logger {
 public:
  explicit TensorBoardLogger(TensorBoardLoggerOptions options);
  ~TensorBoardLogger() override;

  std::string name() const override { return options_.name; }
  std::string version() const override { return version_; }
  std::string log_dir() const override { return log_dir_; }
  /// The events file (empty until the first write).
  std::string event_file() const { return event_file_; }

  void log_metrics(const std::map<std::string, double>& metrics,
                   std::optional<int64_t> step) override;
  void save() override;
  void finalize(const std::string& status) override;

  /// The bytes of one framed record holding `event` (exposed for tests).
  static std::string frame_record(const std::string& event);
  /// An Event protobuf with one scalar.
  static std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                         float value);

 private:
  void open();
  void write_record(const std::string& event);

  TensorBoardLoggerOptions options_;
  std::string version_, log_dir_, event_file_;
  std::FILE* file_ = nullptr;
  int queued_ = 0;
  int64_t auto_step_ = 0;
};

}  // namespace fabric
