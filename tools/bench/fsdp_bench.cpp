// FSDP memory and step time against DDP, on CPU processes over Gloo.
//
//   build/tools/bench/bench-fsdp --devices 4 --width 512 --layers 8
//
// Runs the same GPT-style model (decoder blocks as units, AdamW, batch 8 x 64 tokens per
// process) under ddp, fsdp FULL_SHARD and fsdp SHARD_GRAD_OP, each in its own set of processes,
// and prints per rank: the bytes of parameters, gradients and optimizer state held between
// steps (tensor sizes, exact), the largest unit gathered at once, the process's peak resident
// memory (getrusage, the maximum over ranks; in brackets before the model was built) and the
// median step time. glibc keeps freed blocks mapped under its dynamic mmap threshold; with
// MALLOC_MMAP_THRESHOLD_=131072 the peak follows the tensors more closely.
#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fabric/fabric.hpp"
#include "fabric/strategies/sharding_unit.hpp"

namespace {

namespace nn = torch::nn;
using Clock = std::chrono::steady_clock;

constexpr int64_t kVocab = 256, kContext = 64;

struct BlockImpl : nn::Module {
  explicit BlockImpl(int64_t width)
      : ln1(register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({width})))),
        ln2(register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({width})))),
        qkv(register_module("qkv", nn::Linear(width, 3 * width))),
        proj(register_module("proj", nn::Linear(width, width))),
        fc(register_module("fc", nn::Linear(width, 4 * width))),
        out(register_module("out", nn::Linear(4 * width, width))) {}
  torch::Tensor forward(torch::Tensor x) {
    const int64_t b = x.size(0), t = x.size(1), c = x.size(2), heads = 8, hd = c / heads;
    auto parts = qkv(ln1(x)).view({b, t, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    auto att = torch::matmul(parts[0], parts[1].transpose(-2, -1)) / std::sqrt(double(hd));
    att = torch::softmax(att.masked_fill(torch::ones({t, t}, torch::kBool).triu(1), -1e9), -1);
    x = x + proj(torch::matmul(att, parts[2]).transpose(1, 2).reshape({b, t, c}));
    return x + out(torch::gelu(fc(ln2(x))));
  }
  nn::LayerNorm ln1, ln2;
  nn::Linear qkv, proj, fc, out;
};
TORCH_MODULE(Block);

struct GptImpl : nn::Module {
  GptImpl(int64_t width, int64_t layers)
      : tok(register_module("tok", nn::Embedding(kVocab, width))),
        pos(register_module("pos", nn::Embedding(kContext, width))),
        list(register_module("blocks", nn::ModuleList())) {
    for (int64_t i = 0; i < layers; ++i) {
      Block block(width);
      list->push_back(block);
      blocks.push_back(block);
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    auto h = tok(x) + pos(torch::arange(x.size(1)));
    for (auto& block : blocks) h = fabric::fsdp_unit(*block, [&] { return block->forward(h); });
    return torch::nn::functional::linear(h, tok->weight).flatten(0, 1);
  }
  nn::Embedding tok, pos;
  nn::ModuleList list;
  std::vector<Block> blocks;
};
TORCH_MODULE(Gpt);

int64_t bytes_of(const std::vector<at::Tensor>& ts) {
  int64_t n = 0;
  for (const auto& t : ts)
    if (t.defined()) n += t.numel() * int64_t(t.element_size());
  return n;
}

// One configuration in its own processes; rank 0 appends a line to `report`.
int run_one(const std::string& strategy, int devices, int64_t width, int64_t layers, int steps,
            const std::string& report) {
  const auto colon = strategy.find(':');
  fabric::FSDPOptions fsdp{.auto_wrap_policy = fabric::units_of_type<BlockImpl>()};
  if (colon != std::string::npos) fsdp.sharding_strategy = strategy.substr(colon + 1);
  fabric::Fabric fabric({.accelerator = "cpu",
                         .strategy = strategy.substr(0, colon),
                         .devices = devices,
                         .fsdp = fsdp});
  fabric.launch();
  fabric.seed_everything(0, true, false);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);  // LibTorch, Gloo and the launcher, before the model
  const double base_mb = fabric.all_reduce(double(before.ru_maxrss) / 1024, fabric::ReduceOp::Max);
  Gpt net(width, layers);
  const int64_t unit_bytes = bytes_of(net->blocks.front()->parameters());
  torch::optim::AdamW adamw(net->parameters(), torch::optim::AdamWOptions(1e-3));
  auto [model, opt] = fabric.setup(net, adamw);
  std::vector<double> times;
  int64_t grad_bytes = 0;
  for (int step = 0; step < steps + 1; ++step) {
    auto tokens = torch::randint(0, kVocab, {8, kContext + 1});
    fabric.barrier();
    auto start = Clock::now();
    auto logits = model(tokens.narrow(1, 0, kContext));
    fabric.backward(torch::nn::functional::cross_entropy(logits, tokens.narrow(1, 1, kContext).flatten()));
    std::vector<at::Tensor> grads;
    for (const auto& p : net->parameters()) grads.push_back(p.grad());
    grad_bytes = bytes_of(grads);
    opt.step();
    opt.zero_grad();
    fabric.barrier();
    if (step > 0) times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::vector<at::Tensor> state;
  for (auto& [key, s] : adamw.state()) {
    auto& adam = static_cast<torch::optim::AdamWParamState&>(*s);
    state.push_back(adam.exp_avg());
    state.push_back(adam.exp_avg_sq());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double peak_mb = fabric.all_reduce(double(usage.ru_maxrss) / 1024, fabric::ReduceOp::Max);
  std::sort(times.begin(), times.end());
  if (fabric.is_global_zero()) {
    std::ofstream(report, std::ios::app)
        << strategy << " " << bytes_of(net->parameters()) << " " << grad_bytes << " "
        << bytes_of(state) << " " << unit_bytes << " " << base_mb << " " << peak_mb << " "
        << times[times.size() / 2]
        << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"FSDP against DDP: bytes held per rank, peak memory and step time on CPU"};
  int devices = 4, steps = 5;
  int64_t width = 512, layers = 8;
  std::string strategy, report;
  app.add_option("--devices", devices, "Processes")->check(CLI::PositiveNumber);
  app.add_option("--width", width, "Model width (a multiple of 8)")->check(CLI::PositiveNumber);
  app.add_option("--layers", layers, "Decoder blocks")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "Timed steps")->check(CLI::PositiveNumber);
  app.add_option("--strategy", strategy, "One configuration (used by the driver)");
  app.add_option("--report", report, "Where that configuration's figures go");
  CLI11_PARSE(app, argc, argv);
  if (!strategy.empty()) return run_one(strategy, devices, width, layers, steps, report);

  const std::string file = "/tmp/bench-fsdp-" + std::to_string(::getpid()) + ".txt";
  for (const char* s : {"ddp", "fsdp:FULL_SHARD", "fsdp:SHARD_GRAD_OP"}) {
    std::ostringstream cmd;
    cmd << "'" << argv[0] << "' --strategy " << s << " --devices " << devices << " --width " << width
        << " --layers " << layers << " --steps " << steps << " --report " << file;
    if (std::system(cmd.str().c_str()) != 0) {
      std::fprintf(stderr, "bench-fsdp: %s failed\n", s);
      return 1;
    }
  }
  std::printf("GPT width %lld, %lld blocks, AdamW, %d CPU processes (Gloo), batch 8 x %lld tokens "
              "per process\n\n", (long long)width, (long long)layers, devices, (long long)kContext);
  std::printf("%-20s %9s %9s %9s %9s %9s %13s %8s\n", "strategy", "params MB", "grads MB",
              "state MB", "total MB", "unit MB", "RSS MB (base)", "step s");
  std::ifstream in(file);
  double ddp_total = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream is(line);
    std::string name;
    double p, g, s, unit, base, peak, t;
    is >> name >> p >> g >> s >> unit >> base >> peak >> t;
    const double mb = 1 << 20, total = p + g + s;
    if (name == "ddp") ddp_total = total;
    std::printf("%-20s %9.1f %9.1f %9.1f %9.1f %9.1f %6.0f (%4.0f) %8.3f", name.c_str(), p / mb,
                g / mb, s / mb, total / mb, unit / mb, peak, base, t);
    if (name != "ddp" && ddp_total > 0)
      std::printf("   total = DDP/%.2f", ddp_total / total);
    std::printf("\n");
  }
  std::remove(file.c_str());
  return 0;
}
