// The version-bridging helpers of fabric/compat whose results can be checked against the math.
#include <catch2/catch.hpp>

#include <cmath>

#include "fabric/compat/torch_compat.hpp"
#include "support/helpers.hpp"

namespace {
/// softmax(q k^T / sqrt(d) + causal mask) v, in double precision, written out.
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  auto qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  const int64_t t = q.size(-2);
  auto scores = qd.matmul(kd.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
  auto future = torch::ones({t, t}, torch::kBool).triu(1);
  return torch::softmax(scores.masked_fill(future, -INFINITY), -1).matmul(vd).to(q.scalar_type());
}
}  // namespace

TEST_CASE("causal_attention is softmax(q k^T / sqrt(d)) v under a causal mask",
          "[fabric][compat]") {
  torch::manual_seed(0);
  auto q = torch::randn({2, 3, 7, 8}), k = torch::randn({2, 3, 7, 8}),
       v = torch::randn({2, 3, 7, 8});
  auto got = fabric::compat::causal_attention(q, k, v, /*dropout_p=*/0.0);
  REQUIRE(got.sizes() == q.sizes());
  CHECK(torch::allclose(got, reference_attention(q, k, v), 1e-5, 1e-5));

  // Position i sees positions <= i only: changing the last key and value leaves the rest alone.
  auto k2 = k.clone(), v2 = v.clone();
  k2.select(2, 6).fill_(5.0);
  v2.select(2, 6).fill_(-5.0);
  auto changed = fabric::compat::causal_attention(q, k2, v2, 0.0);
  CHECK(torch::allclose(changed.narrow(2, 0, 6), got.narrow(2, 0, 6), 1e-6, 1e-6));
  CHECK_FALSE(torch::allclose(changed.select(2, 6), got.select(2, 6)));
}

TEST_CASE("causal_attention's gradients match the written-out math", "[fabric][compat]") {
  torch::manual_seed(1);
  auto make = [] { return torch::randn({1, 2, 5, 4}, torch::kDouble).requires_grad_(); };
  auto q = make(), k = make(), v = make();
  auto q2 = q.detach().clone().requires_grad_(), k2 = k.detach().clone().requires_grad_(),
       v2 = v.detach().clone().requires_grad_();
  fabric::compat::causal_attention(q, k, v, 0.0).pow(2).sum().backward();
  reference_attention(q2, k2, v2).pow(2).sum().backward();
  CHECK(torch::allclose(q.grad(), q2.grad(), 1e-8, 1e-8));
  CHECK(torch::allclose(k.grad(), k2.grad(), 1e-8, 1e-8));
  CHECK(torch::allclose(v.grad(), v2.grad(), 1e-8, 1e-8));
}

TEST_CASE("causal_attention with dropout keeps expectations and drops weights in training",
          "[fabric][compat]") {
  torch::manual_seed(2);
  auto q = torch::zeros({1, 1, 4, 2}), k = torch::zeros({1, 1, 4, 2});
  auto v = torch::ones({1, 1, 4, 2});
  // Uniform weights over 1..4 positions times ones: 1 everywhere without dropout.
  CHECK(torch::allclose(fabric::compat::causal_attention(q, k, v, 0.0), torch::ones({1, 1, 4, 2})));
  auto dropped = fabric::compat::causal_attention(
      q.expand({2000, 1, 4, 2}), k.expand({2000, 1, 4, 2}), v.expand({2000, 1, 4, 2}), 0.5);
  CHECK_FALSE(torch::allclose(dropped, torch::ones_like(dropped)));
  CHECK(dropped.mean().item<double>() == Approx(1.0).epsilon(0.05));
}
