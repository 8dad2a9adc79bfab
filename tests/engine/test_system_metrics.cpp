// The sys/ metrics a run records: the process's CPU and memory, and GPU figures only where NVML
// answers for the device.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "engine/system_metrics.hpp"

using fabric::engine::SystemMetrics;

namespace {
double spin_for(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile double x = 0;
  while (std::chrono::steady_clock::now() < end) x = x + 1;
  return x;
}
}  // namespace

TEST_CASE("system metrics measure the process's CPU time and resident memory", "[engine][sys]") {
  SystemMetrics metrics(1.0, std::nullopt);
  REQUIRE(metrics.enabled());
  spin_for(0.3);
  auto busy = metrics.sample();
  REQUIRE(busy.count("sys/cpu_percent"));
  REQUIRE(busy.count("sys/rss_mib"));
  // One thread spinning: close to one core, never more than the machine has.
  CHECK(busy["sys/cpu_percent"] > 30);
  CHECK(busy["sys/cpu_percent"] <= 100.0 * std::thread::hardware_concurrency() + 5);
  CHECK(busy["sys/rss_mib"] > 1);

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto idle = metrics.sample();  // since the last sample: asleep
  CHECK(idle["sys/cpu_percent"] < 30);

  // 64 MiB touched shows in the resident memory.
  std::vector<char> block(64u << 20, 1);
  auto grown = metrics.sample();
  CHECK(grown["sys/rss_mib"] - idle["sys/rss_mib"] > 50);
  CHECK(block[12345] == 1);
}

TEST_CASE("system metrics come when the interval has passed, and not when off", "[engine][sys]") {
  SystemMetrics metrics(0.2, std::nullopt);
  CHECK_FALSE(metrics.sample_if_due());  // just started
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  CHECK(metrics.sample_if_due());
  CHECK_FALSE(metrics.sample_if_due());  // the interval starts again

  SystemMetrics off(0.0, std::nullopt);
  CHECK_FALSE(off.enabled());
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(off.sample_if_due());
}

TEST_CASE("GPU metrics are left out where NVML does not answer for the device", "[engine][sys]") {
  // No driver here (or a CUDA index no GPU has): the CPU figures still come, and only the four
  // documented names ever appear.
  SystemMetrics metrics(1.0, 63);
  auto sample = metrics.sample();
  CHECK(sample.count("sys/rss_mib"));
  CHECK_FALSE(sample.count("sys/gpu_memory_used_mib"));
  for (const auto& [key, value] : sample) {
    INFO(key);
    CHECK((key == "sys/cpu_percent" || key == "sys/rss_mib"));
  }
}
