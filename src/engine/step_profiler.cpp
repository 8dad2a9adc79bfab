#include "engine/step_profiler.hpp"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "common/atomic_write.hpp"

namespace fabric::engine {

namespace prof = torch::autograd::profiler;

namespace {

/// Operators by name from the profiler's per-thread event lists: each pop closes the innermost
/// open push of its thread, so a call's self time is its time less its children's.
std::vector<OpTime> aggregate(prof::thread_event_lists& threads) {
  std::map<std::string, OpTime> by_name;
  for (auto& events : threads) {
    struct Open {
      const prof::LegacyEvent* push;
      double child_us = 0;
    };
    std::vector<Open> stack;
    for (auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.push_back({&e});
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        Open open = stack.back();
        stack.pop_back();
        const double us = open.push->cpuElapsedUs(e);
        OpTime& op = by_name[open.push->name()];
        op.name = open.push->name();
        op.calls += 1;
        op.self_us += us - open.child_us;
        if (stack.empty()) op.total_us += us;
        if (open.push->hasCuda() && e.hasCuda()) op.device_us += open.push->cudaElapsedUs(e);
        if (!stack.empty()) stack.back().child_us += us;
      }
    }
  }
  std::vector<OpTime> out;
  for (auto& [name, op] : by_name) out.push_back(op);
  std::sort(out.begin(), out.end(),
            [](const OpTime& a, const OpTime& b) { return a.self_us > b.self_us; });
  return out;
}

}  // namespace

std::string StepProfile::table(size_t rows) const {
  double self_total = 0, device_total = 0;
  for (const auto& op : ops) {
    self_total += op.self_us;
    device_total += op.device_us;
  }
  const bool device = device_total > 0;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "profile of step %lld: %.3f ms wall, %.3f ms in operators%s\n",
                static_cast<long long>(step), wall_us / 1e3, self_total / 1e3,
                device ? "" : " (host)");
  out += line;
  std::snprintf(line, sizeof line, "  %-44s %7s %11s %7s%s\n", "operator", "calls", "self ms",
                "% wall", device ? "  device ms" : "");
  out += line;
  for (size_t i = 0; i < std::min(rows, ops.size()); ++i) {
    const auto& op = ops[i];
    std::string name = op.name.size() > 44 ? op.name.substr(0, 41) + "..." : op.name;
    std::snprintf(line, sizeof line, "  %-44s %7lld %11.3f %6.1f%%", name.c_str(),
                  static_cast<long long>(op.calls), op.self_us / 1e3,
                  wall_us > 0 ? 100 * op.self_us / wall_us : 0.0);
    out += line;
    if (device) {
      std::snprintf(line, sizeof line, " %10.3f", op.device_us / 1e3);
      out += line;
    }
    out += "\n";
  }
  const double outside = std::max(0.0, wall_us - self_total);
  std::snprintf(line, sizeof line, "  %-44s %7s %11.3f %6.1f%%\n",
                "(outside operators: loop, data, logging)", "", outside / 1e3,
                wall_us > 0 ? 100 * outside / wall_us : 0.0);
  out += line;
  return out;
}

StepProfiler::StepProfiler(int64_t step, c10::Device device, std::string trace_path)
    : step_(step), device_(device), trace_path_(std::move(trace_path)) {}

StepProfiler::~StepProfiler() {
  if (active_) {
    try {
      prof::disableProfilerLegacy();
    } catch (...) {
    }
  }
}

void StepProfiler::maybe_begin(int64_t next_step) {
  if (active_ || step_ <= 0 || next_step != step_) return;
  if (device_.is_cuda()) torch::cuda::synchronize();
  const auto state = device_.is_cuda() ? torch::profiler::impl::ProfilerState::CUDA
                                       : torch::profiler::impl::ProfilerState::CPU;
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(state));
  active_ = true;
  started_ = std::chrono::steady_clock::now();
}

std::optional<StepProfile> StepProfiler::maybe_end(int64_t finished_step) {
  if (!active_ || finished_step != step_) return std::nullopt;
  if (device_.is_cuda()) torch::cuda::synchronize();
  StepProfile profile;
  profile.step = finished_step;
  profile.wall_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started_)
          .count();
  auto threads = prof::disableProfilerLegacy();
  active_ = false;
  profile.ops = aggregate(threads);
  if (!trace_path_.empty()) {
    std::vector<prof::LegacyEvent*> events;
    for (auto& list : threads) {
      for (auto& e : list) events.push_back(&e);
    }
    std::ostringstream trace;
    prof::writeProfilerEventsToStream(trace, events);
    atomic_write(trace_path_, trace.str());
  }
  return profile;
}

}  // namespace fabric::engine
