// The CUDA path (issue 8): tagged [cuda], skipped where no CUDA device is found, run on the GPU
// machine (tools/gpu_build then build-gpu/tests/fabric_tests "[cuda]").
#include <catch2/catch.hpp>

#include "fabric/compat/torch_compat.hpp"
#include "fabric/fabric.hpp"
#include "fabric/optim/multi_tensor_adam.hpp"
#include "support/helpers.hpp"
#include "support/nets.hpp"

using fabric::Fabric;
using test_support::TinyNet;

#define REQUIRE_CUDA() \
  if (!fabric::cuda_available()) FABRIC_SKIP("no CUDA device")

namespace {
/// Mean loss of the first and last of `steps` full-batch steps on a fixed regression problem.
std::pair<double, double> fit_tiny(Fabric& f, int steps = 30) {
  f.seed_everything(0);
  auto net = f.init_module([] { return TinyNet(4, 16, 1); });
  torch::optim::Adam adam(net->parameters(), 1e-2);
  auto [model, opt] = f.setup(net, adam);
  auto x = f.to_device(torch::randn({64, 4}));
  auto y = x.sum(1, true);
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    auto loss = torch::mse_loss(model(x), y);
    f.backward(loss);
    opt.step();
    (s == 0 ? first : last) = loss.item<double>();
  }
  return {first, last};
}
}  // namespace

TEST_CASE("cuda: accelerator names and device indices", "[fabric][cuda]") {
  REQUIRE_CUDA();
  for (const char* name : {"cuda", "gpu", "auto"}) {
    Fabric f({.accelerator = name});
    CHECK(f.device().is_cuda());
  }
  Fabric pick({.accelerator = "cuda", .devices = std::vector<int>{0}});
  CHECK(pick.device() == c10::Device(c10::kCUDA, 0));
}

TEST_CASE("cuda: every precision trains and init_module builds on the GPU", "[fabric][cuda]") {
  REQUIRE_CUDA();
  for (auto [precision, dtype] :
       {std::pair{"32-true", torch::kFloat32}, std::pair{"16-mixed", torch::kFloat32},
        std::pair{"bf16-mixed", torch::kFloat32}, std::pair{"16-true", torch::kFloat16},
        std::pair{"bf16-true", torch::kBFloat16}}) {
    INFO(precision);
    Fabric f({.accelerator = "cuda", .precision = precision});
    auto probe = f.init_module([] { return TinyNet(); });
    CHECK(probe->fc1->weight.is_cuda());
    CHECK(probe->fc1->weight.scalar_type() == dtype);
    auto [first, last] = fit_tiny(f);
    CHECK(last < first * 0.5);
  }
}

TEST_CASE("cuda: 16-mixed scales the loss with the fused loss-scaler kernels", "[fabric][cuda]") {
  REQUIRE_CUDA();
  CHECK(fabric::compat::has_fused_amp_kernels(c10::kCUDA));
  Fabric f({.accelerator = "cuda", .precision = "16-mixed"});
  REQUIRE(f.precision().scaler() != nullptr);
  CHECK(f.precision().scaler()->get_scale() == 65536.0);
  fit_tiny(f, 5);
  CHECK(f.precision().scaler()->get_scale() > 0);
}

TEST_CASE("cuda: the data loader pins and moves batches; a GPU-resident dataset stays there",
          "[fabric][cuda][data]") {
  REQUIRE_CUDA();
  Fabric f({.accelerator = "cuda"});
  auto x = torch::arange(40, torch::kFloat).view({20, 2});
  auto y = torch::arange(20, torch::kLong);
  fabric::DataLoader host(fabric::data::TensorDataset(x, y), {.batch_size = 8, .workers = 2});
  auto moved = f.setup_dataloaders(host);
  int64_t seen = 0;
  for (auto& batch : moved) {
    CHECK(batch.data.is_cuda());
    CHECK(batch.target.is_cuda());
    seen += batch.target.size(0);
  }
  CHECK(seen == 20);
  fabric::DataLoader resident(fabric::data::TensorDataset(x.cuda(), y.cuda()), {.batch_size = 8});
  for (auto& batch : f.setup_dataloaders(resident)) {
    CHECK(batch.data.is_cuda());
    CHECK(torch::equal(batch.data.select(1, 0).div(2).to(torch::kLong), batch.target));
  }
}

TEST_CASE("cuda: the fused and foreach Adam steps match the per-tensor step", "[fabric][cuda]") {
  REQUIRE_CUDA();
  using fabric::optim::StepKernel;
  CHECK(fabric::optim::resolve_step_kernel("auto", c10::kCUDA) == StepKernel::fused);
  for (auto kernel : {StepKernel::fused, StepKernel::foreach}) {
    INFO(fabric::optim::to_string(kernel));
    torch::manual_seed(0);
    auto a = torch::randn({64, 32}, torch::kCUDA).requires_grad_();
    auto b = a.detach().clone().requires_grad_();
    torch::optim::AdamW reference({a}, torch::optim::AdamWOptions(1e-2));
    fabric::optim::MultiTensorAdamW ours({torch::optim::OptimizerParamGroup({b})},
                                         torch::optim::AdamWOptions(1e-2), kernel);
    for (int s = 0; s < 5; ++s) {
      a.mutable_grad() = torch::sin(a.detach() * (s + 1));
      b.mutable_grad() = torch::sin(b.detach() * (s + 1));
      reference.step();
      ours.step();
    }
    CHECK(torch::allclose(a, b, 1e-5, 1e-5));
  }
}

TEST_CASE("cuda: causal attention runs the fused kernel and matches the math", "[fabric][cuda]") {
  REQUIRE_CUDA();
  CHECK(fabric::compat::has_fused_attention());
  torch::manual_seed(0);
  auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
  auto q = torch::randn({2, 8, 128, 64}, opts), k = torch::randn({2, 8, 128, 64}, opts),
       v = torch::randn({2, 8, 128, 64}, opts);
  auto got = fabric::compat::causal_attention(q, k, v, 0.0).to(torch::kFloat);
  auto qf = q.to(torch::kFloat), kf = k.to(torch::kFloat), vf = v.to(torch::kFloat);
  auto future = torch::ones({128, 128}, torch::dtype(torch::kBool).device(torch::kCUDA)).triu(1);
  auto expected =
      torch::softmax((qf.matmul(kf.transpose(-2, -1)) / 8.0).masked_fill(future, -INFINITY), -1)
          .matmul(vf);
  CHECK(torch::allclose(got, expected, 3e-2, 3e-2));
}

TEST_CASE("cuda: DDP on one GPU uses an NCCL process group", "[fabric][cuda][dist]") {
  REQUIRE_CUDA();
  Fabric f({.accelerator = "cuda", .strategy = "ddp", .devices = 1});
  f.launch();
  CHECK(f.world_size() == 1);
  auto summed = f.all_reduce(torch::full({3}, 2.0, torch::kCUDA), fabric::ReduceOp::Sum);
  CHECK(summed.is_cuda());
  CHECK(torch::equal(summed.cpu(), torch::full({3}, 2.0)));
  auto [first, last] = fit_tiny(f);
  CHECK(last < first * 0.5);
}
