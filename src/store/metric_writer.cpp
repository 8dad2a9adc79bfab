#include "store/metric_writer.hpp"

#include <chrono>

namespace fabric::store {

MetricWriter::MetricWriter(const std::string& store_path, std::string run_id, double flush_seconds,
                           double heartbeat_seconds)
    : store_(store_path),
      run_id_(std::move(run_id)),
      flush_seconds_(flush_seconds),
      heartbeat_seconds_(heartbeat_seconds),
      thread_([this] { loop(); }) {}

MetricWriter::~MetricWriter() {
  try {
    close();
  } catch (...) {
  }
}

void MetricWriter::add(MetricPoint point) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(std::move(point));
}

void MetricWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!thread_.joinable()) return;
  const uint64_t ticket = ++requested_;
  cv_.notify_all();
  flushed_.wait(lock, [&] { return done_ >= ticket || stop_; });
  if (!error_.empty()) throw StoreError(error_);
}

void MetricWriter::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!error_.empty()) throw StoreError(error_);
}

void MetricWriter::write(std::vector<MetricPoint> batch) {
  try {
    if (batch.empty()) {
      store_.heartbeat(run_id_);
    } else {
      store_.log_metrics(run_id_, batch);  // also beats the heartbeat
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = e.what();
  }
}

void MetricWriter::loop() {
  using clock = std::chrono::steady_clock;
  auto last_beat = clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::duration<double>(flush_seconds_),
                 [&] { return stop_ || requested_ > done_; });
    const bool stopping = stop_;
    const uint64_t ticket = requested_;
    std::vector<MetricPoint> batch;
    batch.swap(pending_);
    const bool beat = clock::now() - last_beat > std::chrono::duration<double>(heartbeat_seconds_);
    lock.unlock();
    if (!batch.empty() || beat) {
      write(std::move(batch));
      last_beat = clock::now();
    }
    lock.lock();
    done_ = ticket;
    flushed_.notify_all();
    if (stopping) return;
  }
}

}  // namespace fabric::store
