// MultiTensorAdam/AdamW: the foreach and fused steps against LibTorch's own per-tensor Adam, and
// state_dicts that move between them.
#include <catch2/catch.hpp>

#include <sstream>

#include "common/error.hpp"
#include "fabric/optim/multi_tensor_adam.hpp"
#include "support/helpers.hpp"

using fabric::optim::MultiTensorAdam;
using fabric::optim::MultiTensorAdamW;
using fabric::optim::StepKernel;

namespace {

/// Three parameters of different shapes (one never gets a gradient), seeded.
std::vector<at::Tensor> make_params() {
  torch::manual_seed(3);
  return {torch::randn({5, 4}).requires_grad_(), torch::randn({4}).requires_grad_(),
          torch::randn({2, 3, 3}).requires_grad_(), torch::randn({7}).requires_grad_()};
}

/// `steps` steps with fixed gradients (parameter 3 never gets one); the parameters after.
template <class Optimizer>
std::vector<at::Tensor> train(Optimizer& opt, std::vector<at::Tensor>& params, int steps) {
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i + 1 < params.size(); ++i) {
      params[i].mutable_grad() = torch::sin(params[i].detach() * double(s + 1)) + 0.1 * double(i);
    }
    opt.step();
  }
  std::vector<at::Tensor> out;
  for (auto& p : params) out.push_back(p.detach().clone());
  return out;
}

void check_close(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("parameter " << i << ": max difference " << (a[i] - b[i]).abs().max().item<double>());
    CHECK(torch::allclose(a[i], b[i], tol, tol));
  }
}

std::vector<torch::optim::OptimizerParamGroup> one_group(std::vector<at::Tensor> params) {
  return {torch::optim::OptimizerParamGroup(std::move(params))};
}

}  // namespace

TEST_CASE("foreach Adam steps as torch::optim::Adam does", "[fabric][optim]") {
  auto [decay, amsgrad] = GENERATE(table<double, bool>({{0.0, false}, {0.1, false}, {0.0, true}}));
  INFO("weight_decay " << decay << " amsgrad " << amsgrad);
  auto options = torch::optim::AdamOptions(0.01).weight_decay(decay).amsgrad(amsgrad);
  auto ref_params = make_params(), our_params = make_params();
  torch::optim::Adam reference(ref_params, options);
  MultiTensorAdam ours(one_group(our_params), options, StepKernel::foreach);
  const auto expected = train(reference, ref_params, 6);
  const auto got = train(ours, our_params, 6);
  check_close(got, expected, 1e-6);
  // The parameter without gradients is untouched and has no state, as with LibTorch's Adam.
  CHECK(torch::equal(got[3], make_params()[3]));
  CHECK(ours.state().size() == 3);
}

TEST_CASE("foreach AdamW applies decoupled weight decay as torch::optim::AdamW",
          "[fabric][optim]") {
  auto options = torch::optim::AdamWOptions(0.01).weight_decay(0.05);
  auto ref_params = make_params(), our_params = make_params();
  torch::optim::AdamW reference(ref_params, options);
  MultiTensorAdamW ours(one_group(our_params), options, StepKernel::foreach);
  check_close(train(ours, our_params, 6), train(reference, ref_params, 6), 1e-6);
}

TEST_CASE("a foreach Adam state_dict loads into torch::optim::Adam and training goes on alike",
          "[fabric][optim][checkpoint]") {
  auto options = torch::optim::AdamOptions(0.01);
  auto straight_params = make_params(), split_params = make_params();
  torch::optim::Adam straight(straight_params, options);
  const auto expected = train(straight, straight_params, 5);

  MultiTensorAdam first(one_group(split_params), options, StepKernel::foreach);
  train(first, split_params, 3);
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive archive;
    first.save(archive);
    archive.save_to(buffer);
  }
  torch::optim::Adam second(split_params, options);
  torch::serialize::InputArchive archive;
  archive.load_from(buffer);
  second.load(archive);
  // Steps 4 and 5 with the gradients train() would have given them.
  for (int s = 3; s < 5; ++s) {
    for (size_t i = 0; i + 1 < split_params.size(); ++i) {
      split_params[i].mutable_grad() =
          torch::sin(split_params[i].detach() * double(s + 1)) + 0.1 * double(i);
    }
    second.step();
  }
  std::vector<at::Tensor> got;
  for (auto& p : split_params) got.push_back(p.detach());
  check_close(got, expected, 1e-6);
}

TEST_CASE(
    "the fused kernel matches the per-tensor step where LibTorch has it, and is refused "
    "by name where it does not",
    "[fabric][optim]") {
  if (!fabric::optim::has_fused_adam(c10::kCPU)) {
    CHECK_THROWS_AS(fabric::optim::resolve_step_kernel("fused", c10::kCPU),
                    fabric::NotSupportedError);
    CHECK_THROWS_WITH(fabric::optim::resolve_step_kernel("fused", c10::kCPU),
                      Catch::Contains("not in LibTorch") && Catch::Contains("use \"foreach\""));
    CHECK(fabric::optim::resolve_step_kernel("auto", c10::kCPU) == StepKernel::per_tensor);
    return;
  }
  CHECK(fabric::optim::resolve_step_kernel("auto", c10::kCPU) == StepKernel::fused);
  auto options = torch::optim::AdamWOptions(0.01).weight_decay(0.05);
  auto ref_params = make_params(), our_params = make_params();
  torch::optim::AdamW reference(ref_params, options);
  MultiTensorAdamW ours(one_group(our_params), options, StepKernel::fused);
  check_close(train(ours, our_params, 6), train(reference, ref_params, 6), 1e-5);
}

TEST_CASE("step kernels by name", "[fabric][optim]") {
  using fabric::optim::resolve_step_kernel;
  CHECK(resolve_step_kernel("foreach", c10::kCPU) == StepKernel::foreach);
  CHECK(resolve_step_kernel("per_tensor", c10::kCUDA) == StepKernel::per_tensor);
  CHECK(fabric::optim::to_string(StepKernel::foreach) == "foreach");
  CHECK_THROWS_WITH(resolve_step_kernel("fast", c10::kCPU),
                    Catch::Contains("unknown optimizer step kernel 'fast'"));
}
