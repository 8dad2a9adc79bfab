// [run] profile_step: LibTorch's profiler around one training step (loading the batch, forward,
// backward, clipping, optimizer step), summarised as operators by self time next to the step's
// wall time, so what is left outside LibTorch's operators (the loop itself) shows, and written as
// a Chrome trace (chrome://tracing, Perfetto) into the run's folder.
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fabric::engine {

/// One operator's share of a profiled step.
struct OpTime {
  std::string name{};
  int64_t calls = 0;
  double self_us = 0;    // host time inside the operator, less the operators it called
  double total_us = 0;   // host time including them (outermost calls only)
  double device_us = 0;  // CUDA time of its kernels (GPU runs)
};

struct StepProfile {
  int64_t step = 0;
  double wall_us = 0;         // the whole step, the device synchronised at its end
  std::vector<OpTime> ops{};  // by self time, largest first
  /// A table: the top `rows` operators and the step's time outside any operator.
  std::string table(size_t rows = 15) const;
};

class StepProfiler {
 public:
  /// Profiles global step `step` (1-based; 0: none) on `device`; the trace goes to `trace_path`.
  StepProfiler(int64_t step, c10::Device device, std::string trace_path);
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  /// Called before the work of step `next_step` begins; starts profiling if it is the one.
  void maybe_begin(int64_t next_step);
  /// Called when step `finished_step` is done; the profile if it was the profiled one.
  std::optional<StepProfile> maybe_end(int64_t finished_step);

 private:
  int64_t step_;
  c10::Device device_;
  std::string trace_path_;
  bool active_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace fabric::engine
