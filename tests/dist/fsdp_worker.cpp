// A training program for the fsdp tests: the same loop under ddp and fsdp, writing each rank's
// losses and the consolidated final checkpoint, which tests/dist/test_fsdp.cpp compares.
//
//   fsdp_worker DEVICES STRATEGY SHARDING MODEL UNITS ACCUM NOSYNC CLIP STEPS OUT [LOAD]
// STRATEGY ddp|fsdp|single; SHARDING FULL_SHARD|SHARD_GRAD_OP|NO_SHARD[:sharded]; MODEL mlp|gpt;
// UNITS none|block|broken; ACCUM micro-batches per step; NOSYNC 1: no_backward_sync while
// accumulating; CLIP max norm (0: off); LOAD: a checkpoint to resume from (its "step" entry).
#include <torch/torch.h>

#include <fstream>
#include <iomanip>
#include <iostream>

#include "fabric/fabric.hpp"
#include "fabric/strategies/sharding_unit.hpp"

namespace {

namespace nn = torch::nn;

struct MlpImpl : nn::Module {
  MlpImpl()
      : fc1(register_module("fc1", nn::Linear(16, 64))),
        fc2(register_module("fc2", nn::Linear(64, 64))),
        fc3(register_module("fc3", nn::Linear(64, 4))) {}
  torch::Tensor forward(torch::Tensor x) {
    auto h = torch::tanh(fabric::fsdp_unit(*fc1, [&] { return fc1(x); }));
    h = torch::tanh(fabric::fsdp_unit(*fc2, [&] { return fc2(h); }));
    return fabric::fsdp_unit(*fc3, [&] { return fc3(h); });
  }
  nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

constexpr int64_t kVocab = 32, kContext = 16, kWidth = 32, kHeads = 4;

struct BlockImpl : nn::Module {
  BlockImpl()
      : ln1(register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({kWidth})))),
        ln2(register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({kWidth})))),
        qkv(register_module("qkv",
                            nn::Linear(nn::LinearOptions(kWidth, 3 * kWidth)
                                           .bias(false)))),  // a key bias gets a zero gradient:
                                                             // Adam would amplify rounding
        proj(register_module("proj", nn::Linear(kWidth, kWidth))),
        fc(register_module("fc", nn::Linear(kWidth, 4 * kWidth))),
        out(register_module("out", nn::Linear(4 * kWidth, kWidth))) {}
  torch::Tensor forward(torch::Tensor x) {
    const int64_t b = x.size(0), t = x.size(1), hd = kWidth / kHeads;
    auto parts = qkv(ln1(x)).view({b, t, 3, kHeads, hd}).permute({2, 0, 3, 1, 4});
    auto att = torch::matmul(parts[0], parts[1].transpose(-2, -1)) / std::sqrt(double(hd));
    auto mask = torch::ones({t, t}, torch::kBool).triu(1);
    att = torch::softmax(att.masked_fill(mask, -1e9), -1);
    auto y = torch::matmul(att, parts[2]).transpose(1, 2).reshape({b, t, kWidth});
    x = x + proj(y);
    return x + out(torch::gelu(fc(ln2(x))));
  }
  nn::LayerNorm ln1, ln2;
  nn::Linear qkv, proj, fc, out;
};
TORCH_MODULE(Block);

struct GptImpl : nn::Module {
  GptImpl()
      : tok(register_module("tok", nn::Embedding(kVocab, kWidth))),
        pos(register_module("pos", nn::Embedding(kContext, kWidth))),
        lnf(register_module("lnf", nn::LayerNorm(nn::LayerNormOptions({kWidth})))),
        list(register_module("blocks", nn::ModuleList())) {
    for (int i = 0; i < 3; ++i) {
      Block block;  // one statement per layer: the same initial weights in every build
      list->push_back(block);
      blocks.push_back(block);
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    auto h = tok(x) + pos(torch::arange(x.size(1)));
    for (auto& block : blocks) h = fabric::fsdp_unit(*block, [&] { return block->forward(h); });
    return torch::nn::functional::linear(lnf(h), tok->weight).flatten(0, 1);  // tied head
  }
  nn::Embedding tok, pos;
  nn::LayerNorm lnf;
  nn::ModuleList list;
  std::vector<Block> blocks;
};
TORCH_MODULE(Gpt);

struct Args {
  std::string devices, strategy, sharding, model, units;
  int accum = 1;
  bool nosync = false;
  double clip = 0;
  int steps = 20;
  std::string out, load;
};

template <class Net>
int train(const Args& a, Net net,
          const std::function<std::pair<at::Tensor, at::Tensor>(const at::Tensor&, int64_t,
                                                                int64_t)>& batch) {
  // SHARDING may end in ":sharded": fabric.save writes a folder of per-rank shards.
  const auto colon = a.sharding.find(':');
  fabric::FSDPOptions fsdp{.sharding_strategy = a.sharding.substr(0, colon)};
  if (colon != std::string::npos) fsdp.state_dict_type = a.sharding.substr(colon + 1);
  if (a.units == "block") {
    fsdp.auto_wrap_policy = a.model == "mlp" ? fabric::units_of_type<nn::LinearImpl>()
                                             : fabric::units_of_type<BlockImpl>();
  } else if (a.units == "broken") {  // the blocks' Linear layers never pass through fsdp_unit
    fsdp.auto_wrap_policy = [](const std::string&, const torch::nn::Module& m) {
      return dynamic_cast<const BlockImpl*>(&m) || dynamic_cast<const nn::LinearImpl*>(&m);
    };
  }
  fabric::Fabric fabric({.accelerator = "cpu",
                         .strategy = a.strategy == "single" ? "auto" : a.strategy,
                         .devices = a.devices,
                         .fsdp = fsdp});
  fabric.launch();
  fabric.seed_everything(0, true, false);
  torch::optim::AdamW adamw(net->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.1));
  torch::optim::StepLR halving(adamw, /*step_size=*/8, /*gamma=*/0.5);
  // The three-argument setup: the scheduler stays bound to the optimizer fsdp steps on.
  auto [model, opt, scheduler] = fabric.setup(net, adamw, halving);
  int64_t start = 0;
  if (!a.load.empty()) {
    fabric::State state{{"model", model}, {"optimizer", opt}};
    auto rest = fabric.load(a.load, state);
    start = rest.at("step").to_int();
    // LibTorch schedulers have no state dict: replay the step count, keep the loaded rates.
    std::vector<double> rates;
    for (auto& group : adamw.param_groups()) rates.push_back(group.options().get_lr());
    for (int64_t s = 0; s < start; ++s) scheduler.step();
    for (size_t g = 0; g < rates.size(); ++g) adamw.param_groups()[g].options().set_lr(rates[g]);
  }
  const int64_t world = fabric.world_size(), rank = fabric.global_rank();
  std::ofstream losses(a.out + "/losses_rank" + std::to_string(rank) + ".txt");
  losses << std::setprecision(10);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto seeds = torch::randint(0, 1 << 30, {1000}, gen);
  for (int64_t step = start; step < start + a.steps; ++step) {
    auto [x, y] = batch(seeds[step], rank, world);
    const int64_t n = x.size(0) / a.accum;
    double total = 0;
    for (int m = 0; m < a.accum; ++m) {
      auto guard = fabric.no_backward_sync(model, a.nosync && m + 1 < a.accum);
      at::Tensor loss = torch::nn::functional::cross_entropy(model(x.narrow(0, m * n, n)),
                                                             y.narrow(0, m * n, n).flatten());
      fabric.backward(loss / a.accum);
      total += loss.item<double>() / a.accum;
    }
    if (a.clip > 0) {
      auto norm = fabric.clip_gradients(model, opt, {.max_norm = a.clip});
      losses << "norm " << step << " " << *norm << "\n";
    }
    losses << "lr " << step << " " << opt.param_groups()[0].options().get_lr() << "\n";
    opt.step();
    opt.zero_grad();
    scheduler.step();
    losses << "loss " << step << " " << total << "\n";
  }
  // Resident bytes of parameters, gradients (before zero_grad they were there) and optimizer state.
  int64_t param_bytes = 0, state_bytes = 0;
  for (const auto& p : net->parameters()) param_bytes += p.numel() * int64_t(p.element_size());
  for (auto& [key, s] : adamw.state()) {
    if (auto* adam = dynamic_cast<torch::optim::AdamWParamState*>(s.get())) {
      state_bytes += (adam->exp_avg().numel() + adam->exp_avg_sq().numel()) * 4;
    }
  }
  losses << "bytes params " << param_bytes << " state " << state_bytes << "\n";
  fabric.save(a.out + "/final.pt",
              {{"model", model}, {"optimizer", opt}, {"step", start + a.steps}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 11) {
    std::cerr << "usage: fsdp_worker DEVICES STRATEGY SHARDING MODEL UNITS ACCUM NOSYNC CLIP STEPS "
                 "OUT [LOAD]\n";
    return 2;
  }
  Args a{argv[1],
         argv[2],
         argv[3],
         argv[4],
         argv[5],
         std::stoi(argv[6]),
         std::string(argv[7]) == "1",
         std::stod(argv[8]),
         std::stoi(argv[9]),
         argv[10],
         argc > 11 ? argv[11] : ""};
  try {
    torch::manual_seed(0);
    if (a.model == "mlp") {
      Mlp net;
      return train(a, net, [](const at::Tensor& seed, int64_t rank, int64_t world) {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(seed.item<int64_t>());
        auto x = torch::randn({64, 16}, gen);
        auto y = torch::randint(0, 4, {64}, gen);
        const int64_t n = 64 / world;
        return std::make_pair(x.narrow(0, rank * n, n), y.narrow(0, rank * n, n));
      });
    }
    Gpt net;
    return train(a, net, [](const at::Tensor& seed, int64_t rank, int64_t world) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed.item<int64_t>());
      auto tokens = torch::randint(0, kVocab, {16, kContext + 1}, gen);
      const int64_t n = 16 / world;
      auto mine = tokens.narrow(0, rank * n, n);
      return std::make_pair(mine.narrow(1, 0, kContext), mine.narrow(1, 1, kContext));
    });
  } catch (const std::exception& e) {
    std::cerr << "fsdp_worker: " << e.what() << "\n";
    return 1;
  }
}
