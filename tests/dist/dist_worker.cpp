// A distributed program for the tests: each scenario runs on every rank and writes what it saw to
// <out>/rank<r>.txt (and .pt files), which tests/dist/test_ddp.cpp checks.
//
//   dist_worker <devices> <scenario> <out-dir> [args...]
// Scenarios: train <mode> (mode: ddp | accum_nosync | accum_sync), collectives, sampler, fail,
// mismatch, save_load.
#include <torch/torch.h>

#include <fstream>
#include <iostream>

#include "fabric/fabric.hpp"

namespace {

struct MlpImpl : torch::nn::Module {
  MlpImpl()
      : fc1(register_module("fc1", torch::nn::Linear(10, 32))),
        fc2(register_module("fc2", torch::nn::Linear(32, 32))),
        fc3(register_module("fc3", torch::nn::Linear(32, 3))) {}
  torch::Tensor forward(torch::Tensor x) { return fc3(torch::tanh(fc2(torch::tanh(fc1(x))))); }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

std::ofstream open_out(const std::string& dir, int rank) {
  return std::ofstream(dir + "/rank" + std::to_string(rank) + ".txt");
}

at::Tensor flat_params(Mlp& net) {
  std::vector<at::Tensor> ps;
  for (auto& p : net->parameters()) ps.push_back(p.detach().flatten());
  return torch::cat(ps);
}

// 20 SGD steps on a global batch of 64, split across the ranks (and into micro-batches).
int train(fabric::Fabric& fabric, const std::string& out, const std::string& mode) {
  fabric.seed_everything(0, true, false);
  Mlp net;  // the same initial weights on every rank (and DDP broadcasts rank 0's anyway)
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  auto [model, opt] = fabric.setup(net, sgd);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto x = torch::randn({64 * 20, 10}, gen);
  auto y = torch::randint(0, 3, {64 * 20}, gen);
  const int64_t world = fabric.world_size(), rank = fabric.global_rank();
  const int64_t local = 64 / world;
  const int micro = mode == "ddp" ? 1 : 2;
  for (int64_t step = 0; step < 20; ++step) {
    auto xs = x.narrow(0, step * 64 + rank * local, local);
    auto ys = y.narrow(0, step * 64 + rank * local, local);
    for (int m = 0; m < micro; ++m) {
      const int64_t n = local / micro;
      bool last = m == micro - 1;
      auto guard = fabric.no_backward_sync(model, mode == "accum_nosync" && !last);
      auto loss = torch::nn::functional::cross_entropy(model(xs.narrow(0, m * n, n)),
                                                       ys.narrow(0, m * n, n));
      fabric.backward(loss / micro);
    }
    opt.step();
    opt.zero_grad();
  }
  torch::save(flat_params(net), out + "/params_rank" + std::to_string(rank) + ".pt");
  fabric.save(out + "/final.pt", {{"model", model}, {"optimizer", opt}});
  return 0;
}

int collectives(fabric::Fabric& fabric, const std::string& out) {
  auto f = open_out(out, fabric.global_rank());
  const double r = fabric.global_rank();
  for (auto dtype : {torch::kInt64, torch::kInt32, torch::kFloat32, torch::kBFloat16}) {
    std::string name = c10::toString(dtype);
    for (auto op : {"sum", "mean", "max", "min", "product"}) {
      auto t = torch::tensor({r + 1, 2 * r + 3}).to(dtype);
      auto reduced = fabric.all_reduce(t, op);
      f << "all_reduce " << op << " " << name << " " << reduced[0].item<double>() << " "
        << reduced[1].item<double>() << " " << c10::toString(reduced.scalar_type()) << "\n";
    }
    auto gathered = fabric.all_gather(torch::tensor({r, r + 10}).to(dtype));
    f << "all_gather " << name << " " << gathered.sizes() << " " << gathered.sum().item<double>()
      << "\n";
    auto b = fabric.broadcast(torch::full({2}, r + 5).to(dtype), 1);
    f << "broadcast " << name << " " << b[0].item<double>() << "\n";
  }
  std::map<std::string, at::Tensor> coll{{"a", torch::tensor({r})},
                                         {"b", torch::tensor({10 * r, 1.0})}};
  auto red = fabric.all_reduce(coll, "sum");
  f << "collection a " << red.at("a")[0].item<double>() << " b " << red.at("b")[0].item<double>()
    << "\n";
  std::vector<at::Tensor> vec{torch::tensor({r})};
  f << "vector " << fabric.all_gather(vec)[0].sizes() << "\n";
  f << "scalar " << fabric.all_reduce(r + 1.0, fabric::ReduceOp::Sum) << "\n";
  f << "string " << fabric.broadcast(std::string("from rank ") + std::to_string(int(r)), 1) << "\n";
  fabric.barrier();
  f << "done\n";
  return 0;
}

int sampler(fabric::Fabric& fabric, const std::string& out) {
  fabric.seed_everything(42, true, false);
  auto data = torch::arange(10).to(torch::kFloat32).unsqueeze(1);
  fabric::DataLoader loader(fabric::data::TensorDataset(data, torch::arange(10)),
                            {.batch_size = 2, .shuffle = true});
  auto dl = fabric.setup_dataloaders(loader);
  auto f = open_out(out, fabric.global_rank());
  f << "batches " << dl.size() << "\n";
  for (int epoch = 0; epoch < 2; ++epoch) {
    f << "epoch " << epoch << ":";
    for (auto& b : dl) {
      for (int64_t i = 0; i < b.target.size(0); ++i) f << " " << b.target[i].item<int64_t>();
    }
    f << "\n";
  }
  return 0;
}

int fail(fabric::Fabric& fabric) {
  fabric.barrier();
  if (fabric.global_rank() == 1) {
    std::cerr << "rank 1 fails on purpose\n";
    return 3;
  }
  auto t = torch::ones({1});
  fabric.all_reduce(t);  // would wait forever for rank 1
  return 0;
}

int mismatch(fabric::Fabric& fabric, const std::string& out) {
  auto f = open_out(out, fabric.global_rank());
  try {
    fabric.all_gather(torch::zeros({fabric.global_rank() + 1}));
    f << "no error\n";
  } catch (const fabric::ValueError& e) {
    f << "error: " << e.what() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: dist_worker <devices> <scenario> <out-dir> [args]\n";
    return 2;
  }
  std::string devices = argv[1], scenario = argv[2], out = argv[3];
  try {
    fabric::Fabric fabric(
        {.accelerator = "cpu", .strategy = devices == "1" ? "auto" : "ddp", .devices = devices});
    fabric.launch();
    if (scenario == "train") return train(fabric, out, argc > 4 ? argv[4] : "ddp");
    if (scenario == "collectives") return collectives(fabric, out);
    if (scenario == "sampler") return sampler(fabric, out);
    if (scenario == "fail") return fail(fabric);
    if (scenario == "mismatch") return mismatch(fabric, out);
    std::cerr << "unknown scenario " << scenario << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dist_worker: " << e.what() << "\n";
    return 1;
  }
}
