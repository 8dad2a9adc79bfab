// What a run prints: a progress bar on a terminal (step, epoch, loss, throughput, ETA), plain
// periodic lines otherwise, and the final summary table. Every line also goes to the run's log
// file. Only global rank 0 reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fabric::engine {

class Reporter {
 public:
  /// `enabled` false: silent (ranks other than 0). `log_path` "" : no log file.
  Reporter(bool enabled, const std::string& log_path);
  ~Reporter();

  void line(const std::string& text);
  void start(int64_t total_steps, int64_t first_step);
  void step(int64_t step, int64_t epoch, double loss, double samples_per_sec);
  /// Whether step() would print now: the trainer reads the loss back from the device only then.
  bool due(int64_t step) const;
  /// Leaves the last progress bar on the terminal (the run's end), or with `erase` takes it
  /// away so a line printed now does not sit under a stale copy of the bar.
  void end_progress(bool erase = false);
  /// Best and last value of each metric, time and checkpoint (the final table).
  struct Row {
    std::string key{};
    double last = 0, best = 0;
    int64_t best_step = 0;
  };
  void summary(const std::vector<Row>& rows,
               const std::vector<std::pair<std::string, std::string>>& facts);
  void set_log_file(const std::string& path);

 private:
  bool enabled_, tty_, colour_;
  std::ofstream log_;
  int64_t total_ = 0, first_ = 0;
  std::chrono::steady_clock::time_point started_, last_print_;
  bool bar_open_ = false;
};

}  // namespace fabric::engine
