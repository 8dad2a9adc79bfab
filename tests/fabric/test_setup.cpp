// setup / setup_module / setup_optimizers, the wrappers and the Fabric-fired hooks.
#include <torch/script.h>
#include <catch2/catch.hpp>

#include "fabric/fabric.hpp"
#include "support/helpers.hpp"
#include "support/nets.hpp"

using fabric::Fabric;
using test_support::TinyNet;

TEST_CASE("setup returns the wrapper, or a tuple with the optimizers in order", "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet a, b;
  auto only = f.setup(a);
  STATIC_REQUIRE(std::is_same_v<decltype(only), fabric::FabricModule<TinyNet>>);
  CHECK(only.module().get() == a.get());

  torch::optim::SGD sgd1(b->parameters(), 0.1);
  torch::optim::Adam adam(b->parameters(), 0.1);
  auto [model, o1, o2] = f.setup(b, sgd1, adam);
  CHECK(&o1.optimizer() == &sgd1);
  CHECK(&o2.optimizer() == &adam);
  CHECK(model.module().get() == b.get());
}

TEST_CASE("setup(model, optimizer, scheduler) returns the scheduler, still driving the rate",
          "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  torch::optim::SGD sgd(net->parameters(), 0.1);
  torch::optim::StepLR halving(sgd, /*step_size=*/1, /*gamma=*/0.5);
  auto [model, opt, scheduler] = f.setup(net, sgd, halving);
  STATIC_REQUIRE(std::is_same_v<decltype(scheduler), torch::optim::StepLR&>);
  CHECK(&scheduler == &halving);
  scheduler.step();  // LibTorch's StepLR changes nothing on its first step (epoch 0)
  scheduler.step();
  CHECK(opt.param_groups()[0].options().get_lr() == Approx(0.05));
  // A shared_ptr comes back as itself.
  TinyNet other;
  auto adam = std::make_shared<torch::optim::Adam>(other->parameters(), 0.1);
  auto owned = std::make_shared<torch::optim::StepLR>(*adam, 1, 0.1);
  auto [m2, o2, s2] = f.setup(other, adam, owned);
  CHECK(s2.get() == owned.get());
  s2->step();
  s2->step();
  CHECK(o2.param_groups()[0].options().get_lr() == Approx(0.01));
}

TEST_CASE("setup_optimizers: one wrapper for one, a tuple for several", "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  torch::optim::SGD s1(net->parameters(), 0.1), s2(net->parameters(), 0.1),
      s3(net->parameters(), 0.1);
  fabric::FabricOptimizer one = f.setup_optimizers(s1);
  CHECK(&one.optimizer() == &s1);
  auto [x, y] = f.setup_optimizers(s2, s3);
  CHECK(&x.optimizer() == &s2);
  CHECK(&y.optimizer() == &s3);
  auto owned = std::make_shared<torch::optim::SGD>(net->parameters(), 0.1);
  auto w = f.setup_optimizers(owned);
  CHECK(&w.optimizer() == owned.get());
}

TEST_CASE("a model, optimizer or loader can be set up only once", "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  torch::optim::SGD sgd(net->parameters(), 0.1);
  auto [m, o] = f.setup(net, sgd);
  CHECK_THROWS_WITH(f.setup(net), "A model should be passed only once to the `setup` method.");
  CHECK_THROWS_AS(f.setup_module(m), fabric::ValueError);
  CHECK_THROWS_WITH(f.setup_optimizers(sgd),
                    "An optimizer should be passed only once to the `setup` method.");
  fabric::DataLoader loader(fabric::data::TensorDataset(torch::zeros({4, 4}), torch::zeros({4})),
                            {});
  auto dl = f.setup_dataloaders(loader);
  CHECK_THROWS_WITH(f.setup_dataloaders(loader),
                    Catch::Contains("A dataloader should be passed only once"));
  CHECK_THROWS_AS(f.setup_dataloaders(dl), fabric::ValueError);
}

TEST_CASE("move_to_device and the wrapper's device", "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  auto moved = f.setup_module(net);
  CHECK(moved.device() == f.device());
  for (auto& p : moved.parameters()) CHECK(p.device() == f.device());

  TinyNet kept;
  auto stay = f.setup_module(kept, {.move_to_device = false});
  CHECK(stay.device().is_cpu());

  auto empty = std::make_shared<torch::nn::SequentialImpl>(torch::nn::ReLU());
  auto wrapped = f.setup_module(empty, {.move_to_device = false});
  CHECK(wrapped.device() == c10::Device(c10::kCPU));
}

TEST_CASE("forward input and output conversion per precision", "[fabric][setup][precision]") {
  struct Case {
    const char* precision;
    c10::ScalarType input;
    c10::ScalarType weights;
  };
  for (Case c : {Case{"32-true", torch::kFloat32, torch::kFloat32},
                 Case{"64-true", torch::kFloat64, torch::kFloat64},
                 Case{"bf16-true", torch::kBFloat16, torch::kBFloat16},
                 Case{"bf16-mixed", torch::kBFloat16, torch::kFloat32}}) {
    INFO(c.precision);
    Fabric f({.accelerator = "cpu", .precision = c.precision});
    test_support::ProbeNet net;
    auto model = f.setup(net);
    CHECK(net->fc->weight.scalar_type() == c.weights);
    auto out = model(torch::randn({3, 4}));
    CHECK(net->seen_input == c.input);
    if (std::string(c.precision) == "bf16-mixed")
      CHECK(net->seen_output == torch::kBFloat16);  // autocast on
    CHECK(out.scalar_type() == torch::kFloat32);    // outputs back to the default dtype
    // integer inputs are never cast
    auto ints = torch::ones({2}, torch::kLong);
    CHECK(f.precision().convert_input(ints).scalar_type() == torch::kLong);
  }
}

TEST_CASE("mixed precision requires fabric.backward; true precisions do not",
          "[fabric][setup][precision]") {
  {
    Fabric f({.accelerator = "cpu", .precision = "bf16-mixed"});
    TinyNet net;
    auto model = f.setup(net);
    auto loss = model(torch::randn({2, 4})).sum();
    CHECK_THROWS_WITH(loss.backward(),
                      Catch::Contains("requires you to call fabric.backward(loss)"));
    auto loss2 = model(torch::randn({2, 4})).sum();
    CHECK_NOTHROW(f.backward(loss2));
    CHECK(net->fc1->weight.grad().defined());
    CHECK(net->fc1->weight.grad().scalar_type() == torch::kFloat32);  // grads stay fp32
    torch::NoGradGuard no_grad;
    CHECK_NOTHROW(model(torch::randn({2, 4})));  // outputs without grad are not hooked
  }
  for (const char* p : {"32-true", "bf16-true", "64-true"}) {
    Fabric f({.accelerator = "cpu", .precision = p});
    TinyNet net;
    auto model = f.setup(net);
    CHECK_NOTHROW(model(torch::randn({2, 4})).sum().backward());
  }
}

TEST_CASE("on_after_setup and on_after_optimizer_step fire", "[fabric][setup][callbacks]") {
  auto cb = std::make_shared<fabric::Callback>();
  int setups = 0, steps = 0;
  const void* seen_module = nullptr;
  torch::optim::Optimizer* seen_optimizer = nullptr;
  cb->on("on_after_setup", [&](const fabric::HookArgs& a) {
    ++setups;
    CHECK(a.get<fabric::Fabric*>("fabric") != nullptr);
    seen_module = a.get<fabric::ModuleRef>("module").identity();
  });
  cb->on("on_after_optimizer_step", [&](const fabric::HookArgs& a) {
    ++steps;
    seen_optimizer = a.get<torch::optim::Optimizer*>("optimizer");
  });
  Fabric f({.accelerator = "cpu", .callbacks = {cb}});
  TinyNet net, other;
  torch::optim::SGD sgd(net->parameters(), 0.1);
  auto [model, opt] = f.setup(net, sgd);
  f.setup_module(other);  // setup_module does not fire on_after_setup
  CHECK(setups == 1);
  CHECK(seen_module == net.get());
  f.backward(model(torch::randn({2, 4})).sum());
  opt.step();
  opt.step();
  CHECK(steps == 2);
  CHECK(seen_optimizer == &sgd);
}

TEST_CASE("FabricOptimizer steps and zero_grad sets grads to none", "[fabric][setup]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  torch::optim::SGD sgd(net->parameters(), 0.5);
  auto [model, opt] = f.setup(net, sgd);
  auto before = net->fc2->bias.detach().clone();
  f.backward(model(torch::randn({3, 4})).sum());
  CHECK(opt.step());
  CHECK_FALSE(torch::equal(before, net->fc2->bias.detach()));
  opt.zero_grad();
  CHECK_FALSE(net->fc2->bias.grad().defined());
  f.backward(model(torch::randn({3, 4})).sum());
  opt.zero_grad(/*set_to_none=*/false);
  REQUIRE(net->fc2->bias.grad().defined());
  CHECK(net->fc2->bias.grad().abs().sum().item<double>() == 0.0);
}

TEST_CASE("a TorchScript module is set up and trained like a native one", "[fabric][setup][jit]") {
  // A script module built from TorchScript source (as torch.jit.load would return one).
  torch::jit::Module m("Affine");
  m.register_parameter("w", torch::randn({4, 2}).requires_grad_(), false);
  m.register_parameter("b", torch::zeros({2}).requires_grad_(), false);
  m.define(R"(
    def forward(self, x):
        return x.mm(self.w) + self.b
  )");
  Fabric f({.accelerator = "cpu"});
  f.seed_everything(0);
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p);
  torch::optim::SGD sgd(params, 0.1);
  auto [model, opt] = f.setup(m, sgd);
  auto x = torch::randn({16, 4});
  auto target = x.mm(torch::ones({4, 2}));
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    auto loss = (model(x).toTensor() - target).pow(2).mean();
    if (i == 0) first = loss.item<double>();
    last = loss.item<double>();
    f.backward(loss);
    opt.step();
    opt.zero_grad();
  }
  CHECK(last < first * 0.5);

  test_support::TempDir dir;
  f.save(dir.str("jit.pt"), {{"model", model}});
  auto loaded = f.load(dir.str("jit.pt"));
  auto sd = loaded.at("model").value().toGenericDict();
  CHECK(torch::equal(sd.at("w").toTensor(), m.attr("w").toTensor()));
}

TEST_CASE("a module exported from Python with torch.jit.save trains in C++",
          "[fabric][setup][jit][python]") {
  if (!test_support::python_with_torch()) FABRIC_SKIP("no Python with torch");
  test_support::TempDir dir;
  auto r = test_support::run_python(R"(
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 16)
        self.bn = torch.nn.BatchNorm1d(16)
        self.fc2 = torch.nn.Linear(16, 1)
    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))
torch.manual_seed(0)
torch.jit.save(torch.jit.script(Net()), ")" +
                                    dir.str("net.pt") + R"(")
)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  torch::jit::Module m = torch::jit::load(dir.str("net.pt"));
  Fabric f({.accelerator = "cpu", .precision = "bf16-mixed"});
  f.seed_everything(0, true, false);
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p);
  torch::optim::Adam adam(params, 1e-2);
  auto [model, opt] = f.setup(m, adam);
  auto x = torch::randn({64, 4});
  auto y = x.sum(1, true);
  double first = 0, last = 0;
  for (int i = 0; i < 60; ++i) {
    auto loss = torch::mse_loss(model(x).toTensor(), y);
    (i == 0 ? first : last) = loss.item<double>();
    f.backward(loss);
    opt.step();
    opt.zero_grad();
  }
  CHECK(last < first * 0.2);
  test_support::TempDir out;
  f.save(out.str("ck.pt"), {{"model", model}});
  auto sd = f.load(out.str("ck.pt")).at("model").value().toGenericDict();
  CHECK(sd.contains("bn.running_mean"));
  CHECK(sd.at("bn.num_batches_tracked").toTensor().item<int64_t>() == 60);
}
