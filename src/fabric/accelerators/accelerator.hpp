// Accelerators: which device kind runs the work, how many there are, and how `devices=` maps to
// concrete torch::Device objects (Lightning's _parse_gpu_ids and CPU device parsing).
#pragma once

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "fabric/options.hpp"

namespace fabric {

enum class AcceleratorKind { Cpu, Cuda };

std::string to_string(AcceleratorKind kind);

/// Whether LibTorch sees a usable CUDA device.
bool cuda_available();
int cuda_device_count();

/// "auto" -> CUDA if available else CPU; "gpu" -> CUDA or an error. Throws ValueError on an
/// unknown name and RuntimeError when the accelerator is not available here.
AcceleratorKind resolve_accelerator(const std::string& name);

/// The devices of this node that `devices` selects on `kind`. Throws ValueError / TypeError with
/// Lightning's messages on 0, empty lists, duplicates, negative or unavailable indices.
std::vector<c10::Device> parse_devices(const Devices& devices, AcceleratorKind kind);

/// Makes `device` the current one (cudaSetDevice on CUDA; nothing on CPU).
void setup_device(const c10::Device& device);

}  // namespace fabric
