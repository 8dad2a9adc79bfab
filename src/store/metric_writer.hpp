// Buffers a run's metrics and writes them from a background thread, in one transaction at most
// every `flush_seconds` (and on flush()), so logging every step costs the training thread only a
// mutex and a vector push. The thread also beats the run's heartbeat.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <memory>

#include "store/run_store.hpp"
#include "store/shared_run_store.hpp"

namespace fabric::store {

class MetricWriter {
 public:
  /// Writes through `store`, the connection the rest of the process uses too.
  MetricWriter(std::shared_ptr<SharedRunStore> store, std::string run_id,
               double flush_seconds = 1.0, double heartbeat_seconds = kHeartbeatSeconds);
  /// Writes through a connection of its own.
  MetricWriter(const std::string& store_path, std::string run_id, double flush_seconds = 1.0,
               double heartbeat_seconds = kHeartbeatSeconds);
  ~MetricWriter();  // flushes
  MetricWriter(const MetricWriter&) = delete;
  MetricWriter& operator=(const MetricWriter&) = delete;

  void add(MetricPoint point);
  /// The writer starts with the run, before the recipe's loggers are built; they set this.
  void set_flush_seconds(double seconds);
  /// Writes everything buffered before returning (checkpoints, exit). Rethrows a write error.
  void flush();
  /// Stops the thread after a last flush.
  void close();

 private:
  void loop();
  void write(std::vector<MetricPoint> batch);

  std::shared_ptr<SharedRunStore> store_;
  std::string run_id_;
  double flush_seconds_, heartbeat_seconds_;
  std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::vector<MetricPoint> pending_;
  uint64_t requested_ = 0, done_ = 0;
  bool stop_ = false;
  std::string error_;
  std::thread thread_;
};

}  // namespace fabric::store
