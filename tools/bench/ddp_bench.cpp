// DDP benchmark on CPU: all-reduce bandwidth over Gloo, and training step time of the
// 784-256-128-10 MLP (batch 64 per process) on 1 process vs N.
//
//   build/tools/bench/bench-ddp --devices 2     (launches the other rank itself)
//   build/tools/bench/bench-ddp --devices 1     (the single-process baseline, step time only)
//
// Figures: wall time per operation, median of repeated timed loops after warm-up.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "fabric/fabric.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bench_all_reduce(fabric::Fabric& fabric) {
  if (fabric.is_global_zero()) {
    std::printf("\nall_reduce (sum) over %s, %d processes on 127.0.0.1\n", "gloo", fabric.world_size());
    std::printf("%12s %12s %14s %14s\n", "floats", "bytes", "ms/op", "bus GB/s");
  }
  for (int64_t n : {int64_t(1) << 10, int64_t(1) << 14, int64_t(1) << 18, int64_t(1) << 20, int64_t(1) << 22,
                    int64_t(1) << 24}) {
    auto t = torch::ones({n});
    for (int i = 0; i < 3; ++i) fabric.strategy().all_reduce_(t, fabric::ReduceOp::Sum);
    std::vector<double> runs;
    int iters = n >= (1 << 22) ? 5 : 30;
    for (int rep = 0; rep < 3; ++rep) {
      fabric.barrier();
      auto start = Clock::now();
      for (int i = 0; i < iters; ++i) fabric.strategy().all_reduce_(t, fabric::ReduceOp::Sum);
      runs.push_back(seconds_since(start) / iters);
    }
    double s = median(runs);
    double bytes = double(n) * 4;
    double world = fabric.world_size();
    double bus = bytes * 2 * (world - 1) / world / s / 1e9;  // the ring all-reduce's traffic per rank
    if (fabric.is_global_zero()) std::printf("%12lld %12.0f %14.3f %14.3f\n", (long long)n, bytes, s * 1e3, bus);
  }
}

struct MlpImpl : torch::nn::Module {
  MlpImpl()
      : fc1(register_module("fc1", torch::nn::Linear(784, 256))),
        fc2(register_module("fc2", torch::nn::Linear(256, 128))),
        fc3(register_module("fc3", torch::nn::Linear(128, 10))) {}
  torch::Tensor forward(torch::Tensor x) { return fc3(torch::relu(fc2(torch::relu(fc1(x))))); }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

void bench_steps(fabric::Fabric& fabric, int steps) {
  fabric.seed_everything(0, true, false);
  Mlp net;
  torch::optim::Adam adam(net->parameters(), 1e-3);
  auto [model, opt] = fabric.setup(net, adam);
  auto x = torch::randn({64, 784});
  auto y = torch::randint(0, 10, {64});
  auto step = [&] {
    auto loss = torch::nn::functional::cross_entropy(model(x), y);
    fabric.backward(loss);
    opt.step();
    opt.zero_grad();
  };
  for (int i = 0; i < 20; ++i) step();
  fabric.barrier();
  std::vector<double> runs;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    fabric.barrier();
    runs.push_back(seconds_since(start) / steps);
  }
  double s = median(runs);
  if (fabric.is_global_zero()) {
    std::printf("\nMLP 784-256-128-10, Adam, batch 64 per process, %d process(es), %d threads each\n",
                fabric.world_size(), at::get_num_threads());
    std::printf("step %.3f ms   %.1f steps/s   %.0f samples/s (all processes)\n", s * 1e3, 1 / s,
                64.0 * fabric.world_size() / s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"DDP benchmark: all-reduce bandwidth and step time on CPU"};
  int devices = 2;
  int steps = 200;
  app.add_option("--devices", devices, "Processes")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "Timed steps per repetition")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  fabric::Fabric fabric({.accelerator = "cpu", .strategy = devices > 1 ? "ddp" : "auto", .devices = devices});
  fabric.launch();
  if (fabric.world_size() > 1) bench_all_reduce(fabric);
  bench_steps(fabric, steps);
  return 0;
}
