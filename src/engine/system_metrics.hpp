// The `sys/` metrics every run records: what the process and its device use while training
// (W&B's and MLflow's system metrics, Lightning's DeviceStatsMonitor), sampled at step boundaries
// every [run] system_metrics_interval seconds and once more when training ends, so a run shorter
// than the interval has its figures too.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace fabric::engine {

class NvmlDevice;

class SystemMetrics {
 public:
  /// `interval_seconds` 0 turns sampling off. `cuda_device` is the CUDA index the process trains
  /// on; its memory and utilisation come from NVML, loaded at run time when the driver has it.
  SystemMetrics(double interval_seconds, std::optional<int> cuda_device);
  ~SystemMetrics();
  SystemMetrics(const SystemMetrics&) = delete;
  SystemMetrics& operator=(const SystemMetrics&) = delete;

  bool enabled() const { return interval_ > 0; }

  /// A sample when the interval has passed since the last one (or since construction), else
  /// nothing.
  std::optional<std::map<std::string, double>> sample_if_due();

  /// sys/cpu_percent (the process's user + system CPU time over wall time since the last
  /// sample, 100 per busy core), sys/rss_mib (resident memory now) and, on CUDA,
  /// sys/gpu_memory_used_mib and sys/gpu_utilization_percent (the whole device's, as
  /// nvidia-smi reports them).
  std::map<std::string, double> sample();

 private:
  using clock = std::chrono::steady_clock;
  double interval_;
  clock::time_point last_wall_;
  double last_cpu_seconds_;
  std::unique_ptr<NvmlDevice> gpu_;
};

}  // namespace fabric::engine
