#include "fabric/accelerators/accelerator.hpp"

#include <torch/cuda.h>

#include <algorithm>
#include <set>

#include "common/error.hpp"

#ifdef FABRIC_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace fabric {

std::string to_string(AcceleratorKind kind) {
  return kind == AcceleratorKind::Cpu ? "cpu" : "cuda";
}

bool cuda_available() {
  return torch::cuda::is_available();
}

int cuda_device_count() {
  return cuda_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

AcceleratorKind resolve_accelerator(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  if (name == "auto") return cuda_available() ? AcceleratorKind::Cuda : AcceleratorKind::Cpu;
  if (name == "cpu") return AcceleratorKind::Cpu;
  if (name == "cuda" || name == "gpu") {
    if (!cuda_available()) {
      if (name == "gpu") throw RuntimeError("No supported gpu backend found!");
      throw RuntimeError(
          "`CUDAAccelerator` can not run on your system since the accelerator is not available. "
          "LibTorch sees no CUDA device (this build: " +
          std::string(
#ifdef FABRIC_WITH_CUDA
              "with CUDA"
#else
              "CPU-only LibTorch"
#endif
              ) +
          ").");
    }
    return AcceleratorKind::Cuda;
  }
  if (name == "mps" || name == "tpu") {
    throw NotSupportedError("accelerator='" + raw + "' is not supported yet: LibTorch builds for " +
                            "this project have CPU and CUDA only.");
  }
  throw ValueError("You selected an invalid accelerator name: `accelerator='" + raw +
                   "'`. Available names are: auto, cpu, cuda, gpu.");
}

namespace {

[[noreturn]] void invalid_devices(const Devices& devices, AcceleratorKind kind) {
  throw ValueError("Fabric(devices=" + devices.text() + ") value is not a valid input using " +
                   to_string(kind) + " accelerator.");
}

}  // namespace

std::vector<c10::Device> parse_devices(const Devices& devices, AcceleratorKind kind) {
  if (!devices.is_auto()) {
    if (devices.count() && *devices.count() == 0) invalid_devices(devices, kind);
    if (devices.indices() && devices.indices()->empty()) invalid_devices(devices, kind);
  }
  if (kind == AcceleratorKind::Cpu) {
    int n = 1;
    if (!devices.is_auto()) {
      if (!devices.count() || *devices.count() < 1) {
        throw TypeError("devices selected with CPUAccelerator should be an int > 0, got devices=" +
                        devices.text() + ".");
      }
      n = *devices.count();
    }
    return std::vector<c10::Device>(static_cast<size_t>(n), c10::Device(c10::kCPU));
  }

  const int visible = cuda_device_count();
  std::vector<int> ids;
  if (devices.is_auto() || (devices.count() && *devices.count() == -1)) {
    for (int i = 0; i < visible; ++i) ids.push_back(i);
  } else if (devices.count()) {
    if (*devices.count() < -1) invalid_devices(devices, kind);
    for (int i = 0; i < *devices.count(); ++i) ids.push_back(i);
  } else {
    ids = *devices.indices();
  }
  std::set<int> seen;
  for (int id : ids) {
    if (id < 0) invalid_devices(devices, kind);
    if (!seen.insert(id).second) {
      throw ValueError("Fabric(devices=" + devices.text() + ") lists GPU " + std::to_string(id) +
                       " more than once.");
    }
    if (id >= visible) {
      throw ValueError("You requested gpu: " + devices.text() + " but your machine only has " +
                       std::to_string(visible) + " visible GPU(s) (indices 0.." +
                       std::to_string(visible - 1) + ").");
    }
  }
  std::vector<c10::Device> out;
  for (int id : ids) out.emplace_back(c10::kCUDA, static_cast<c10::DeviceIndex>(id));
  return out;
}

void setup_device(const c10::Device& device) {
#ifdef FABRIC_WITH_CUDA
  if (device.is_cuda()) c10::cuda::set_device(device.index());
#endif
}

}  // namespace fabric
