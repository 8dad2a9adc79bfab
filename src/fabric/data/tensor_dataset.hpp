// In-memory dataset of (data, target) tensors whose batches are gathered by index in one call.
#pragma once

#include <ATen/ATen.h>
#include <torch/data/datasets/base.h>
#include <torch/data/example.h>

#include "common/error.hpp"

namespace fabric::data {

class TensorDataset
    : public torch::data::datasets::BatchDataset<TensorDataset, torch::data::Example<>,
                                                 c10::ArrayRef<size_t>> {
 public:
  TensorDataset(at::Tensor data, at::Tensor target)
      : data_(std::move(data)), target_(std::move(target)) {
    if (data_.size(0) != target_.size(0)) {
      throw ValueError("TensorDataset: data has " + std::to_string(data_.size(0)) +
                       " samples but target has " + std::to_string(target_.size(0)));
    }
  }
  torch::data::Example<> get_batch(c10::ArrayRef<size_t> indices) override {
    auto idx = at::empty({int64_t(indices.size())}, at::kLong);
    std::memcpy(idx.data_ptr<int64_t>(), indices.data(), indices.size() * sizeof(int64_t));
    if (data_.device() != idx.device()) idx = idx.to(data_.device());
    return {data_.index_select(0, idx), target_.index_select(0, idx)};
  }
  c10::optional<size_t> size() const override { return size_t(data_.size(0)); }
  const at::Tensor& data() const { return data_; }
  const at::Tensor& target() const { return target_; }

 private:
  at::Tensor data_, target_;
};

}  // namespace fabric::data
