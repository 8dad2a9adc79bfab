// clip_gradients, call, seed_everything, collectives on one process, launch, to_device, print,
// no_backward_sync.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "fabric/fabric.hpp"
#include "support/helpers.hpp"
#include "support/nets.hpp"

using fabric::Fabric;
using test_support::TinyNet;

namespace {
struct Setup {
  Fabric fabric{{.accelerator = "cpu"}};
  torch::nn::Linear net{torch::nn::Linear(3, 1)};
  torch::optim::SGD sgd{net->parameters(), 0.1};
  fabric::FabricModule<torch::nn::Linear> model = fabric.setup_module(net);
  fabric::FabricOptimizer opt = fabric.setup_optimizers(sgd);
  void set_grads(double w, double b) {
    net->weight.mutable_grad() = torch::full({1, 3}, w);
    net->bias.mutable_grad() = torch::full({1}, b);
  }
};
}  // namespace

TEST_CASE("clip_gradients by norm returns the norm before clipping", "[fabric][clip]") {
  Setup s;
  s.set_grads(2.0, 2.0);  // 2-norm = 4
  auto norm = s.fabric.clip_gradients(s.model, s.opt, {.max_norm = 2.0});
  REQUIRE(norm.has_value());
  CHECK(*norm == Approx(4.0));
  auto total =
      torch::cat({s.net->weight.grad().flatten(), s.net->bias.grad()}).norm().item<double>();
  CHECK(total == Approx(2.0));

  s.set_grads(1.0, -3.0);
  auto inf_norm = s.fabric.clip_gradients(s.model, s.opt, {.max_norm = 1.5, .norm_type = INFINITY});
  CHECK(*inf_norm == Approx(3.0));
  CHECK(s.net->bias.grad().item<double>() == Approx(-1.5));

  s.set_grads(1.0, 1.0);
  auto l1 = s.fabric.clip_gradients(s.model, s.opt, {.max_norm = 100.0, .norm_type = 1.0});
  CHECK(*l1 == Approx(4.0));
  CHECK(s.net->bias.grad().item<double>() == Approx(1.0));  // under the limit: untouched
}

TEST_CASE("clip_gradients by value", "[fabric][clip]") {
  Setup s;
  s.set_grads(5.0, -5.0);
  CHECK_FALSE(s.fabric.clip_gradients(s.model, s.opt, {.clip_val = 0.5}).has_value());
  CHECK(torch::all(s.net->weight.grad() == 0.5).item<bool>());
  CHECK(s.net->bias.grad().item<double>() == -0.5);
}

TEST_CASE("clip_gradients argument and non-finite errors", "[fabric][clip]") {
  Setup s;
  s.set_grads(1, 1);
  CHECK_THROWS_WITH(s.fabric.clip_gradients(s.model, s.opt, {.clip_val = 1, .max_norm = 1}),
                    "Only one of `clip_val` or `max_norm` can be set.");
  CHECK_THROWS_WITH(s.fabric.clip_gradients(s.model, s.opt, {}),
                    "You have to specify either `clip_val` or `max_norm`.");
  s.set_grads(NAN, 1);
  CHECK_THROWS_WITH(s.fabric.clip_gradients(s.model, s.opt, {.max_norm = 1}),
                    Catch::Contains("non-finite"));
  s.set_grads(NAN, 1);
  auto norm = s.fabric.clip_gradients(s.model, s.opt, {.max_norm = 1, .error_if_nonfinite = false});
  CHECK(std::isnan(*norm));
}

TEST_CASE("call runs the hook on callbacks that have it, with arguments", "[fabric][callbacks]") {
  auto a = std::make_shared<fabric::Callback>();
  auto b = std::make_shared<fabric::Callback>();
  std::vector<std::string> order;
  a->on("on_train_epoch_end", [&](const fabric::HookArgs& args) {
    order.push_back(std::string("a").append(std::to_string(args.get<int>("epoch"))));
  });
  b->on("on_train_epoch_end", [&](const fabric::HookArgs& args) { order.push_back("b"); });
  b->on("on_train_start", [&](const fabric::HookArgs&) { order.push_back("start"); });
  Fabric f({.accelerator = "cpu", .callbacks = {a, b}});
  f.call("on_train_start");
  f.call("on_train_epoch_end", {{"epoch", 3}});
  f.call("undefined");
  CHECK(order == std::vector<std::string>{"start", "a3", "b"});
  CHECK_THROWS_WITH(f.call("on_train_epoch_end", {{"epoch", std::string("x")}}),
                    Catch::Contains("hook argument 'epoch' holds a"));
  CHECK_THROWS_WITH(f.call("on_train_epoch_end"), "hook argument 'epoch' was not passed");
  CHECK_THROWS_AS(a->on("x", nullptr), fabric::ValueError);
}

TEST_CASE("seed_everything: return value, environment, bounds, defaults", "[fabric][seed]") {
  test_support::LogCapture log;
  CHECK(Fabric::seed_everything(3) == 3);
  CHECK(std::string(std::getenv("PL_GLOBAL_SEED")) == "3");
  CHECK(std::string(std::getenv("PL_SEED_WORKERS")) == "1");  // Fabric's default workers=true
  CHECK(fabric::seed_everything(4, false) == 4);
  CHECK(std::string(std::getenv("PL_SEED_WORKERS")) == "0");
  CHECK(log.contains("Seed set to 4"));
  CHECK(fabric::seed_everything(-1) == 0);
  CHECK(log.contains("is not in bounds"));
  CHECK(fabric::seed_everything(int64_t(1) << 33) == 0);
  ::setenv("PL_GLOBAL_SEED", "77", 1);
  CHECK(fabric::seed_everything() == 77);
  ::setenv("PL_GLOBAL_SEED", "seventy", 1);
  CHECK(fabric::seed_everything() == 0);
  CHECK(log.contains("Invalid seed found"));
  ::unsetenv("PL_GLOBAL_SEED");
  CHECK(fabric::seed_everything() == 0);
  CHECK(log.contains("No seed found, seed set to 0"));
  fabric::seed_everything(9, false, false);
  auto a = torch::rand({3});
  fabric::reset_seed();
  CHECK(torch::equal(a, torch::rand({3})));
}

TEST_CASE("the same seed gives bit-identical training on CPU", "[fabric][seed]") {
  auto train = [] {
    Fabric f({.accelerator = "cpu"});
    f.seed_everything(1234, true, false);
    TinyNet net(8, 32, 3);
    torch::optim::Adam adam(net->parameters(), 1e-2);
    auto [model, opt] = f.setup(net, adam);
    auto x = torch::randn({256, 8});
    auto y = torch::randint(0, 3, {256});
    fabric::DataLoader loader(fabric::data::TensorDataset(x, y),
                              {.batch_size = 32, .shuffle = true, .workers = 2});
    auto dl = f.setup_dataloaders(loader);
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (auto& b : dl) {
        f.backward(torch::nn::functional::cross_entropy(model(b.data), b.target));
        f.clip_gradients(model, opt, {.max_norm = 1.0});
        opt.step();
        opt.zero_grad();
      }
    }
    return torch::cat({net->fc1->weight.flatten(), net->fc2->weight.flatten()}).detach();
  };
  CHECK(torch::equal(train(), train()));
}

TEST_CASE("collectives are the identity on one process", "[fabric][collectives]") {
  Fabric f({.accelerator = "cpu"});
  auto t = torch::tensor({1.0, 2.0});
  CHECK(torch::equal(f.all_reduce(t), t));
  CHECK(torch::equal(f.all_reduce(t, "sum"), t));
  CHECK(torch::equal(f.all_gather(t), t));  // no extra leading dimension on one process
  CHECK(torch::equal(f.broadcast(t), t));
  CHECK(f.broadcast(std::string("hello")) == "hello");
  CHECK(f.all_reduce(3.5) == 3.5);
  std::map<std::string, at::Tensor> coll{{"a", t}};
  CHECK(torch::equal(f.all_reduce(coll).at("a"), t));
  CHECK_NOTHROW(f.barrier());
  CHECK_THROWS_WITH(f.all_reduce(t, "median"), Catch::Contains("Unsupported reduce_op 'median'"));
  for (auto name : {"sum", "mean", "avg", "max", "min", "product"})
    CHECK_NOTHROW(fabric::parse_reduce_op(name));
}

TEST_CASE("launch with a function passes the Fabric object and returns its result",
          "[fabric][launch]") {
  Fabric f({.accelerator = "cpu"});
  CHECK_FALSE(f.launched());
  int result = f.launch([](Fabric& fab) { return fab.world_size() + 41; });
  CHECK(result == 42);
  CHECK(f.launched());
  CHECK_NOTHROW(f.launch());  // a second launch is a no-op
}

TEST_CASE("no_backward_sync is a no-op on one device", "[fabric][ddp]") {
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  auto model = f.setup(net);
  test_support::LogCapture log;
  {
    auto guard = f.no_backward_sync(model);
    f.backward(model(torch::randn({2, 4})).sum());
  }
  CHECK(net->fc1->weight.grad().defined());
  CHECK_FALSE(log.contains("does not support"));
}

TEST_CASE("to_device moves models and collections", "[fabric][device]") {
  Fabric f({.accelerator = "cpu"});
  std::map<std::string, at::Tensor> batch{{"x", torch::ones({2})}};
  auto moved = f.to_device(batch);
  CHECK(moved.at("x").device() == f.device());
  std::tuple<at::Tensor, int> mixed{torch::ones({1}), 5};
  CHECK(std::get<1>(f.to_device(mixed)) == 5);
  TinyNet net;
  auto same = f.to_device(net);
  CHECK(same.get() == net.get());
}

TEST_CASE("print writes on local rank 0", "[fabric][print]") {
  Fabric f({.accelerator = "cpu"});
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  f.print("epoch", 1, "loss", 0.5);
  std::cout.rdbuf(old);
  CHECK(captured.str() == "epoch 1 loss 0.5\n");
}
