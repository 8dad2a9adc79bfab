// Precision plugin, init_module and the dynamic loss scaler.
#include <catch2/catch.hpp>

#include <c10/core/DefaultDtype.h>

#include "fabric/fabric.hpp"
#include "support/helpers.hpp"
#include "support/nets.hpp"

using fabric::Fabric;
using test_support::TinyNet;

namespace {
c10::ScalarType default_dtype() {
  return c10::typeMetaToScalarType(c10::get_default_dtype());
}
}  // namespace

TEST_CASE("init_module builds with the precision's dtype on the device", "[fabric][precision]") {
  for (auto [p, dtype] :
       {std::pair{"bf16-true", torch::kBFloat16}, std::pair{"64-true", torch::kFloat64},
        std::pair{"32-true", torch::kFloat32}, std::pair{"bf16-mixed", torch::kFloat32}}) {
    INFO(p);
    Fabric f({.accelerator = "cpu", .precision = p});
    auto net = f.init_module([] { return TinyNet(); });
    CHECK(net->fc1->weight.scalar_type() == dtype);
    CHECK(net->fc1->weight.device() == f.device());
    CHECK(default_dtype() == torch::kFloat32);
  }
}

TEST_CASE("the default dtype is restored when the block throws", "[fabric][precision]") {
  Fabric f({.accelerator = "cpu", .precision = "64-true"});
  CHECK_THROWS_WITH(f.init_module([]() -> TinyNet {
    CHECK(default_dtype() == torch::kFloat64);
    throw std::runtime_error("boom");
  }),
                    "boom");
  CHECK(default_dtype() == torch::kFloat32);
  try {
    auto ctx = f.autocast();
    CHECK(default_dtype() == torch::kFloat64);
    throw std::runtime_error("inside autocast");
  } catch (const std::runtime_error&) {
  }
  CHECK(default_dtype() == torch::kFloat32);
}

TEST_CASE("fabric.autocast covers code outside the model (bf16-mixed)", "[fabric][precision]") {
  Fabric f({.accelerator = "cpu", .precision = "bf16-mixed"});
  auto a = torch::randn({4, 4}), b = torch::randn({4, 4});
  {
    auto ctx = f.autocast();
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
  }
  CHECK(torch::mm(a, b).scalar_type() == torch::kFloat32);
  {  // nesting: the inner exit must not turn autocast off for the outer region
    auto outer = f.autocast();
    { auto inner = f.autocast(); }
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
  }
}

TEST_CASE("64-true trains in double and returns fp32", "[fabric][precision]") {
  Fabric f({.accelerator = "cpu", .precision = "64-true"});
  TinyNet net;
  torch::optim::SGD sgd(net->parameters(), 0.1);
  auto [model, opt] = f.setup(net, sgd);
  auto out = model(torch::randn({2, 4}));
  CHECK(out.scalar_type() == torch::kFloat32);
  f.backward(out.sum());
  CHECK(net->fc1->weight.grad().scalar_type() == torch::kFloat64);
  opt.step();
}

// The scaler is tested directly: 16-mixed itself needs CUDA (on CPU it falls back to bf16-mixed).
TEST_CASE("GradScaler scales, unscales and skips steps with inf gradients",
          "[fabric][precision][scaler]") {
  auto p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({p}, 1.0);
  fabric::GradScaler scaler({.init_scale = 1024.0, .growth_interval = 2});

  auto loss = (p * 2).sum();
  auto scaled = scaler.scale(loss);
  CHECK(scaled.item<double>() == Approx(loss.item<double>() * 1024));
  scaled.backward();
  CHECK(p.grad()[0].item<double>() == Approx(2048));
  scaler.unscale_(sgd);
  CHECK(p.grad()[0].item<double>() == Approx(2));  // true gradient, ready for clipping
  CHECK_THROWS_WITH(scaler.unscale_(sgd), Catch::Contains("already been called"));
  CHECK(scaler.step(sgd));
  CHECK(p[0].item<double>() == Approx(-1.0));
  scaler.update();
  CHECK(scaler.get_scale() == 1024.0);
  CHECK(scaler.growth_tracker() == 1);

  // An inf gradient: the step is skipped and the scale backs off.
  sgd.zero_grad();
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 1.0f});
  auto before = p.detach().clone();
  CHECK_FALSE(scaler.step(sgd));
  CHECK(torch::equal(before, p.detach()));
  scaler.update();
  CHECK(scaler.get_scale() == 512.0);
  CHECK(scaler.growth_tracker() == 0);
  CHECK(scaler.skipped_steps() == 1);

  // Two clean steps grow the scale (growth_interval = 2).
  for (int i = 0; i < 2; ++i) {
    sgd.zero_grad();
    scaler.scale((p * 1).sum()).backward();
    CHECK(scaler.step(sgd));
    scaler.update();
  }
  CHECK(scaler.get_scale() == 1024.0);
  CHECK_THROWS_WITH(scaler.update(), Catch::Contains("No inf checks were recorded"));
}

TEST_CASE("GradScaler: another rank's inf, reported by the reducer, skips the step here too",
          "[fabric][precision][scaler]") {
  auto p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({p}, 1.0);
  fabric::GradScaler scaler({.init_scale = 1024.0});
  // Under fsdp the reducer is an all_reduce(max) of the flag; here another rank "found" an inf.
  int calls = 0;
  scaler.set_found_inf_reducer([&](at::Tensor& found_inf) {
    ++calls;
    found_inf.fill_(1.0);
  });
  scaler.scale((p * 2).sum()).backward();  // finite gradients on this rank
  auto before = p.detach().clone();
  CHECK_FALSE(scaler.step(sgd));
  CHECK(calls == 1);
  CHECK(torch::equal(before, p.detach()));
  scaler.update();
  CHECK(scaler.get_scale() == 512.0);
}

TEST_CASE("GradScaler state survives fabric.save / fabric.load", "[fabric][precision][scaler]") {
  fabric::GradScaler scaler({.init_scale = 256.0});
  auto p = torch::ones({2}, torch::requires_grad());
  torch::optim::SGD sgd({p}, 0.1);
  p.mutable_grad() = torch::full({2}, std::numeric_limits<float>::quiet_NaN());
  scaler.step(sgd);
  scaler.update();  // 128
  Fabric f({.accelerator = "cpu"});
  test_support::TempDir dir;
  f.save(dir.str("s.pt"), {{"scaler", scaler}});
  fabric::GradScaler restored;
  fabric::State state{{"scaler", restored}};
  f.load(dir.str("s.pt"), state);
  CHECK(restored.get_scale() == 128.0);
  auto sd = restored.state_dict().toGenericDict();
  CHECK(sd.at("growth_interval").toInt() == 2000);
  CHECK(sd.at("backoff_factor").toDouble() == 0.5);
}

TEST_CASE("GradScaler rejects invalid options", "[fabric][precision][scaler]") {
  CHECK_THROWS_AS(fabric::GradScaler({.init_scale = 0}), fabric::ValueError);
  CHECK_THROWS_AS(fabric::GradScaler({.growth_factor = 1.0}), fabric::ValueError);
  CHECK_THROWS_AS(fabric::GradScaler({.backoff_factor = 1.5}), fabric::ValueError);
}
