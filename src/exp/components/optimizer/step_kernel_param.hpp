// The [optimizer] parameter that Adam and AdamW share: how their step runs
// (fabric::optim::StepKernel).
#pragma once

#include <string>

#include "exp/recipe/registry.hpp"

namespace fabric::exp::components {

struct StepKernelParam {
  std::string kernel = "auto";
};

/// Appends `kernel` to an optimizer spec whose Config derives from StepKernelParam.
template <class Config>
ParamSpec<Config> add_step_kernel_param(ParamSpec<Config> spec) {
  return spec
      .template param<std::string>(
          &Config::kernel, "kernel",
          "How the step runs: fused (one kernel per group), foreach (a few multi-tensor ops per "
          "group) or per_tensor (~10 ops per parameter); auto: fused where LibTorch has it (2.x "
          "on CUDA, 2.4+ on CPU), else foreach on GPUs, per_tensor on CPUs.")
      .choices({"auto", "fused", "foreach", "per_tensor"});
}

}  // namespace fabric::exp::components
