// Small models shared by the tests.
#pragma once

#include <torch/torch.h>

namespace test_support {

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl(int64_t in = 4, int64_t hidden = 8, int64_t out = 2)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, out))) {}
  torch::Tensor forward(torch::Tensor x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(TinyNet);

/// A model that records the dtype its forward saw and whether autocast was on.
struct ProbeNetImpl : torch::nn::Module {
  ProbeNetImpl() : fc(register_module("fc", torch::nn::Linear(4, 2))) {}
  torch::Tensor forward(torch::Tensor x) {
    seen_input = x.scalar_type();
    auto y = fc(x);
    seen_output = y.scalar_type();
    return y;
  }
  torch::nn::Linear fc;
  c10::ScalarType seen_input = c10::ScalarType::Undefined;
  c10::ScalarType seen_output = c10::ScalarType::Undefined;
};
TORCH_MODULE(ProbeNet);

/// A model with a BatchNorm (integer buffer num_batches_tracked) for state-dict tests.
struct BnNetImpl : torch::nn::Module {
  BnNetImpl()
      : fc(register_module("fc", torch::nn::Linear(4, 3))),
        bn(register_module("bn", torch::nn::BatchNorm1d(3))) {}
  torch::Tensor forward(torch::Tensor x) { return bn(fc(x)); }
  torch::nn::Linear fc;
  torch::nn::BatchNorm1d bn;
};
TORCH_MODULE(BnNet);

}  // namespace test_support
