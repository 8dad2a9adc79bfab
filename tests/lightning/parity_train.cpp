// One training loop on the C++ Fabric API, written line for line like parity_train.py on
// Lightning Fabric: same seed, data, model, optimizer, loader and accumulation, so the two give
// the same losses step by step (tests/lightning/test_lightning.cpp compares them).
//
//   lightning_parity DEVICES PRECISION ACCUMULATE SHUFFLE STEPS [SAVE_AT SAVE_PATH LOAD] OUT
//
// Each rank writes OUT.rank<r>: one line per micro-batch, "<optimizer step> <loss>" (%.9g).
// SAVE_AT > 0 saves {model, optimizer, step} after that many optimizer steps; LOAD ("-" for
// none) resumes from a checkpoint (ours or Lightning's) and goes on to STEPS.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "fabric/fabric.hpp"

namespace {

struct Args {
  std::string devices, precision, out, save_path, load_path;
  int64_t accumulate = 1, steps = 0, save_at = 0;
  bool shuffle = false;
};

int train(const Args& a) {
  fabric::Fabric fabric({.accelerator = "cpu",
                         .strategy = a.devices == "1" ? "auto" : "ddp",
                         .devices = a.devices,
                         .precision = a.precision});
  fabric.launch();
  fabric.seed_everything(1234, true, false);
  auto x = torch::randn({256, 20});
  auto y = torch::matmul(x, torch::randn({20, 5})).argmax(1);
  // One statement per layer: the order of a call's arguments is unspecified in C++ (GCC builds
  // them right to left), and the layers must draw their initial weights in Python's order.
  torch::nn::Linear first(20, 64);
  torch::nn::Linear last(64, 5);
  auto net = std::make_shared<torch::nn::SequentialImpl>(first, torch::nn::Tanh(), last);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-2));
  auto [model, optimizer] = fabric.setup(net, adam);
  fabric::DataLoader loader(fabric::data::TensorDataset(x, y),
                            {.batch_size = 16, .shuffle = a.shuffle});
  auto batches = fabric.setup_dataloaders(loader);

  int64_t step = 0;
  if (a.load_path != "-") {
    fabric::State state{{"model", model}, {"optimizer", optimizer}, {"step", fabric::ref(step)}};
    fabric.load(a.load_path, state);
  }
  // Resuming skips the micro-batches already seen (orders are fixed without shuffling).
  int64_t skip = step * a.accumulate;
  FILE* out = std::fopen((a.out + ".rank" + std::to_string(fabric.global_rank())).c_str(), "w");
  int64_t micro = 0;
  while (step < a.steps) {
    for (auto& batch : batches) {
      if (skip > 0) {
        --skip;
        continue;
      }
      const bool accumulating = (micro + 1) % a.accumulate != 0;
      {
        auto guard = fabric.no_backward_sync(model, accumulating);
        auto loss = torch::nn::functional::cross_entropy(model(batch.data), batch.target);
        fabric.backward(loss / double(a.accumulate));
        std::fprintf(out, "%lld %.9g\n", static_cast<long long>(step), loss.item<double>());
      }
      ++micro;
      if (accumulating) continue;
      optimizer.step();
      optimizer.zero_grad();
      ++step;
      if (step == a.save_at)
        fabric.save(a.save_path, {{"model", model}, {"optimizer", optimizer}, {"step", step}});
      if (step == a.steps) break;
    }
  }
  std::fclose(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 10) {
    std::cerr << "usage: lightning_parity DEVICES PRECISION ACCUMULATE SHUFFLE STEPS "
                 "[SAVE_AT SAVE_PATH LOAD] OUT\n";
    return 2;
  }
  Args a{.devices = argv[1],
         .precision = argv[2],
         .out = argv[argc - 1],
         .save_path = argc == 10 ? argv[7] : "",
         .load_path = argc == 10 ? argv[8] : "-",
         .accumulate = std::stoll(argv[3]),
         .steps = std::stoll(argv[5]),
         .save_at = argc == 10 ? std::stoll(argv[6]) : 0,
         .shuffle = std::string(argv[4]) == "1"};
  try {
    return train(a);
  } catch (const std::exception& e) {
    std::cerr << "lightning_parity: " << e.what() << "\n";
    return 1;
  }
}
