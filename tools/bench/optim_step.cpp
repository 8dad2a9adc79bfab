// What one Adam step costs with each step kernel (fabric::optim::MultiTensorAdam: per_tensor,
// foreach, and fused where this LibTorch has it) on the parameter sets of issue 8's workloads:
// the mlp (784-256-128-10: 6 tensors, 235k values), the cnn (8 tensors, 421k values) and a
// gpt (layers x 12 tensors + 4; width and layers as given).
//
//   build/tools/bench/bench-optim-step [--device cpu|cuda] [--steps 2000] [--gpt-layers 6]
//                                      [--gpt-width 512] [--glibc-defaults]
//
// Figures: median over 5 timed loops of the per-step time (the device synchronised at the end of
// each loop), after a warm-up loop; gradients are fixed random tensors.
#include <CLI/CLI.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "fabric/optim/multi_tensor_adam.hpp"
#include "fabric/utilities/heap_tuning.hpp"

namespace {
using Clock = std::chrono::steady_clock;
using fabric::optim::StepKernel;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<std::vector<int64_t>> mlp_shapes() {
  return {{256, 784}, {256}, {128, 256}, {128}, {10, 128}, {10}};
}
std::vector<std::vector<int64_t>> cnn_shapes() {
  return {{32, 1, 3, 3}, {32}, {64, 32, 3, 3}, {64}, {128, 3136}, {128}, {10, 128}, {10}};
}
std::vector<std::vector<int64_t>> gpt_shapes(int64_t layers, int64_t width) {
  std::vector<std::vector<int64_t>> s{{256, width}, {256, width}};  // tokens, positions
  for (int64_t l = 0; l < layers; ++l) {
    for (auto shape : std::vector<std::vector<int64_t>>{{width},
                                                        {width},
                                                        {3 * width, width},
                                                        {3 * width},
                                                        {width, width},
                                                        {width},
                                                        {width},
                                                        {width},
                                                        {4 * width, width},
                                                        {4 * width},
                                                        {width, 4 * width},
                                                        {width}}) {
      s.push_back(shape);
    }
  }
  s.push_back({width});
  s.push_back({width});
  return s;
}

/// Median seconds per step.
double time_steps(const std::vector<std::vector<int64_t>>& shapes, StepKernel kernel,
                  torch::Device device, int steps) {
  torch::manual_seed(0);
  std::vector<at::Tensor> params;
  for (const auto& shape : shapes) {
    auto p = torch::randn(shape, torch::TensorOptions().device(device)).requires_grad_();
    p.mutable_grad() = torch::randn_like(p);
    params.push_back(p);
  }
  fabric::optim::MultiTensorAdam opt({torch::optim::OptimizerParamGroup(params)},
                                     torch::optim::AdamOptions(1e-3), kernel);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  std::vector<double> loops;
  for (int loop = 0; loop < 6; ++loop) {
    sync();
    const auto start = Clock::now();
    for (int s = 0; s < steps; ++s) opt.step();
    sync();
    if (loop > 0) {
      loops.push_back(std::chrono::duration<double>(Clock::now() - start).count() / steps);
    }
  }
  return median(loops);
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Adam step time per step kernel"};
  std::string device_name = "cpu";
  int steps = 2000;
  int64_t gpt_layers = 6, gpt_width = 512;
  app.add_option("--device", device_name, "cpu or cuda");
  app.add_option("--steps", steps, "Steps per timed loop");
  app.add_option("--gpt-layers", gpt_layers, "Decoder layers of the gpt parameter set");
  app.add_option("--gpt-width", gpt_width, "Width of the gpt parameter set");
  bool keep_malloc = false;
  app.add_flag("--glibc-defaults", keep_malloc, "Leave glibc's malloc thresholds as they are");
  CLI11_PARSE(app, argc, argv);
  const torch::Device device(device_name);
  if (!keep_malloc) fabric::keep_large_blocks_in_heap();  // as fabric-exp does

  std::vector<StepKernel> kernels{StepKernel::per_tensor, StepKernel::foreach};
  if (fabric::optim::has_fused_adam(device.type())) kernels.push_back(StepKernel::fused);
  std::printf("Adam step on %s, %d threads; median of 5 loops of %d steps\n",
              device.str().c_str(), torch::get_num_threads(), steps);
  std::printf("%-8s %8s %10s", "params", "tensors", "values");
  for (auto k : kernels) std::printf(" %13s", (fabric::optim::to_string(k) + " us").c_str());
  std::printf("\n");
  const std::vector<std::pair<std::string, std::vector<std::vector<int64_t>>>> sets{
      {"mlp", mlp_shapes()}, {"cnn", cnn_shapes()}, {"gpt", gpt_shapes(gpt_layers, gpt_width)}};
  for (const auto& [name, shapes] : sets) {
    int64_t values = 0;
    for (const auto& s : shapes) {
      int64_t n = 1;
      for (auto d : s) n *= d;
      values += n;
    }
    // Fewer steps for the large set on CPU, where one step is milliseconds.
    const int n = values > 1000000 && device.is_cpu() ? std::max(1, steps / 20) : steps;
    std::printf("%-8s %8zu %10lld", name.c_str(), shapes.size(), static_cast<long long>(values));
    for (auto k : kernels) std::printf(" %13.1f", 1e6 * time_steps(shapes, k, device, n));
    std::printf("\n");
  }
  return 0;
}
