#include "store/metric_writer.hpp"

#include <algorithm>
#include <chrono>

namespace fabric::store {

MetricWriter::MetricWriter(const std::string& store_path, std::string run_id, double flush_seconds,
                           double heartbeat_seconds)
    : MetricWriter(std::make_shared<SharedRunStore>(store_path), std::move(run_id), flush_seconds,
                   heartbeat_seconds) {}

MetricWriter::MetricWriter(std::shared_ptr<SharedRunStore> store, std::string run_id,
                           double flush_seconds, double heartbeat_seconds)
    : store_(std::move(store)),
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

void MetricWriter::set_flush_seconds(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  flush_seconds_ = seconds;
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
    store_->with([&](RunStore& s) {
      if (batch.empty()) {
        s.heartbeat(run_id_);
      } else {
        s.log_metrics(run_id_, batch);  // also beats the heartbeat
      }
    });
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = e.what();
  }
}

void MetricWriter::loop() {
  using clock = std::chrono::steady_clock;
  auto last_write = clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Woken at least once a heartbeat period, whatever the flush period.
    cv_.wait_for(lock, std::chrono::duration<double>(std::min(flush_seconds_, heartbeat_seconds_)),
                 [&] { return stop_ || requested_ > done_; });
    const bool stopping = stop_;
    const uint64_t ticket = requested_;
    const std::chrono::duration<double> since = clock::now() - last_write;
    const bool flush_due = stopping || ticket > done_ || since.count() >= flush_seconds_;
    const bool beat_due = since.count() >= heartbeat_seconds_;
    std::vector<MetricPoint> batch;
    if (flush_due) batch.swap(pending_);
    lock.unlock();
    if (!batch.empty() || beat_due) {
      write(std::move(batch));
      last_write = clock::now();
    }
    lock.lock();
    done_ = ticket;
    flushed_.notify_all();
    if (stopping) return;
  }
}

}  // namespace fabric::store
