// What logging to the run store costs a training step: the quickstart step (32-64-64-4 MLP, batch
// 64, AdamW, forward + backward + step) against MetricWriter::add of the step's metrics, with the
// background thread writing to a real SQLite file at its default 1 s interval.
//
//   build/tools/bench/bench-store [--steps 5000] [--metrics 1]
//
// Figures: median over 5 timed loops of the per-step wall time, after a warm-up loop. Compare
// the interleaved line with the step alone: the difference is what logging every step costs.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "store/metric_writer.hpp"
#include "store/run_store.hpp"

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cost of logging metrics to the run store, per training step"};
  int steps = 5000, metrics = 1;
  app.add_option("--steps", steps, "Steps per timed loop");
  app.add_option("--metrics", metrics, "Metrics logged per step");
  CLI11_PARSE(app, argc, argv);

  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(32, 64), torch::nn::ReLU(), torch::nn::Linear(64, 64),
                            torch::nn::ReLU(), torch::nn::Linear(64, 4));
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(3e-3));
  auto x = torch::randn({64, 32});
  auto y = torch::randint(0, 4, {64}, torch::kLong);
  double loss_value = 0;
  auto train = [&](int n) {
    for (int i = 0; i < n; ++i) {
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.backward();
      opt.step();
      loss_value = loss.item<double>();  // the loop reads the loss it logs
    }
  };

  const auto dir = std::filesystem::temp_directory_path() / ("bench-store-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "store.db").string();
  std::string id;
  {
    fabric::store::RunStore store(path);
    fabric::store::NewRun run;
    run.name = "bench";
    run.runs_root = (dir / "runs").string();
    id = store.create_run(run);
  }
  fabric::store::MetricWriter writer(path, id, /*flush_seconds=*/1.0);
  int64_t step = 0;
  std::vector<std::string> keys;
  for (int k = 0; k < metrics; ++k) keys.push_back("train/metric" + std::to_string(k));
  auto log = [&](int n) {
    for (int i = 0; i < n; ++i, ++step) {
      for (const auto& k : keys) writer.add({k, step, 0, loss_value, 0.0});
    }
  };

  train(200);
  log(200);
  std::vector<double> train_times, log_times, both_times;
  for (int r = 0; r < 5; ++r) {
    auto t = Clock::now();
    train(steps);
    train_times.push_back(since(t) / steps);
    t = Clock::now();
    log(steps);
    log_times.push_back(since(t) / steps);
    // Interleaved, as in a run: includes the writer thread's share of the CPU.
    t = Clock::now();
    for (int i = 0; i < steps; ++i) {
      train(1);
      log(1);
    }
    both_times.push_back(since(t) / steps);
  }
  auto t = Clock::now();
  writer.flush();
  const double flush = since(t);
  writer.close();
  const double step_s = median(train_times), log_s = median(log_times);
  std::printf("quickstart step (fwd+bwd+AdamW, batch 64, %d torch threads): %8.2f us\n", at::get_num_threads(),
              step_s * 1e6);
  std::printf("MetricWriter::add x %d per step (training thread):          %8.3f us  (%.3f%% of a step)\n", metrics,
              log_s * 1e6, 100.0 * log_s / step_s);
  std::printf("step + logging, interleaved (writer thread running):       %8.2f us  (%+.2f%%)\n",
              median(both_times) * 1e6, 100.0 * (median(both_times) - step_s) / step_s);
  std::printf("background flush of the last buffered rows (one transaction):  %8.2f ms\n", flush * 1e3);
  fabric::store::RunStore check(path);
  std::printf("rows written: %zu of %lld\n", check.metrics(id, {}).size(), (long long)(step * metrics));
  std::filesystem::remove_all(dir);
  return 0;
}
