#include "engine/system_metrics.hpp"

#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace fabric::engine {

namespace {

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Resident set size now (getrusage only has the peak).
std::optional<double> resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long long size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return std::nullopt;
  return double(resident_pages) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

}  // namespace

/// The few NVML calls the metrics need, resolved from the driver's libnvidia-ml at run time: no
/// build-time dependency, and a machine without the driver simply records no GPU metrics.
class NvmlDevice {
 public:
  static std::unique_ptr<NvmlDevice> open(int cuda_index) {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return nullptr;
    std::unique_ptr<NvmlDevice> d(new NvmlDevice(lib));
    if (!d->resolve() || d->init_() != 0) return nullptr;
    d->initialised_ = true;  // shut down again however the lookup goes
    if (!d->find(cuda_index)) return nullptr;
    return d;
  }
  ~NvmlDevice() {
    if (initialised_) shutdown_();
    dlclose(lib_);
  }
  NvmlDevice(const NvmlDevice&) = delete;
  NvmlDevice& operator=(const NvmlDevice&) = delete;

  void sample(std::map<std::string, double>& out) const {
    Memory memory{};
    if (memory_info_(device_, &memory) == 0)
      out["sys/gpu_memory_used_mib"] = double(memory.used) / (1024.0 * 1024.0);
    Utilization utilization{};
    // MIG instances report no utilisation; the metric is then left out.
    if (utilization_rates_(device_, &utilization) == 0)
      out["sys/gpu_utilization_percent"] = double(utilization.gpu);
  }

 private:
  // nvml.h's layouts (stable since NVML 2.285).
  struct Memory {
    unsigned long long total, free, used;
  };
  struct Utilization {
    unsigned int gpu, memory;
  };
  using Handle = void*;

  explicit NvmlDevice(void* lib) : lib_(lib) {}

  template <typename F>
  bool bind(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(lib_, name));
    return f != nullptr;
  }
  bool resolve() {
    return bind(init_, "nvmlInit_v2") && bind(shutdown_, "nvmlShutdown") &&
           bind(by_index_, "nvmlDeviceGetHandleByIndex_v2") &&
           bind(by_uuid_, "nvmlDeviceGetHandleByUUID") &&
           bind(memory_info_, "nvmlDeviceGetMemoryInfo") &&
           bind(utilization_rates_, "nvmlDeviceGetUtilizationRates");
  }

  /// NVML numbers every GPU of the machine; CUDA numbers the visible ones. A CUDA_VISIBLE_DEVICES
  /// entry is an NVML index or a GPU-/MIG- UUID.
  bool find(int cuda_index) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    std::string entry = std::to_string(cuda_index);
    if (visible && *visible) {
      std::vector<std::string> entries;
      std::stringstream list(visible);
      for (std::string e; std::getline(list, e, ',');) entries.push_back(e);
      if (cuda_index < 0 || size_t(cuda_index) >= entries.size()) return false;
      entry = entries[size_t(cuda_index)];
    }
    if (entry.empty()) return false;
    bool numeric = entry.size() <= 4;  // no machine has 10,000 GPUs; longer is not an index
    for (char c : entry) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (numeric) return by_index_(unsigned(std::stoi(entry)), &device_) == 0;
    return by_uuid_(entry.c_str(), &device_) == 0;
  }

  void* lib_;
  bool initialised_ = false;
  Handle device_ = nullptr;
  int (*init_)() = nullptr;
  int (*shutdown_)() = nullptr;
  int (*by_index_)(unsigned, Handle*) = nullptr;
  int (*by_uuid_)(const char*, Handle*) = nullptr;
  int (*memory_info_)(Handle, Memory*) = nullptr;
  int (*utilization_rates_)(Handle, Utilization*) = nullptr;
};

SystemMetrics::SystemMetrics(double interval_seconds, std::optional<int> cuda_device)
    : interval_(interval_seconds),
      last_wall_(clock::now()),
      last_cpu_seconds_(process_cpu_seconds()) {
  if (interval_ > 0 && cuda_device) gpu_ = NvmlDevice::open(*cuda_device);
}

SystemMetrics::~SystemMetrics() = default;

std::optional<std::map<std::string, double>> SystemMetrics::sample_if_due() {
  if (!enabled() || std::chrono::duration<double>(clock::now() - last_wall_).count() < interval_)
    return std::nullopt;
  return sample();
}

std::map<std::string, double> SystemMetrics::sample() {
  const auto now = clock::now();
  const double cpu = process_cpu_seconds();
  const double wall = std::chrono::duration<double>(now - last_wall_).count();
  std::map<std::string, double> out;
  if (wall > 0) out["sys/cpu_percent"] = 100.0 * (cpu - last_cpu_seconds_) / wall;
  if (auto rss = resident_mib()) out["sys/rss_mib"] = *rss;
  if (gpu_) gpu_->sample(out);
  last_wall_ = now;
  last_cpu_seconds_ = cpu;
  return out;
}

}  // namespace fabric::engine
