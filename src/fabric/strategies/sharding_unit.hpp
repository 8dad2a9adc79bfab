// fabric::fsdp_unit: the boundary of a sharding unit in a model's forward.
//
// LibTorch's C++ modules have no forward hooks, so the fsdp strategy cannot intercept a block's
// forward the way PyTorch's FSDP wrapper does. Instead a model routes the forward of each block
// that may become a unit through fsdp_unit:
//
//   for (auto& block : blocks_) h = fabric::fsdp_unit(*block, [&] { return block->forward(h); });
//
// Without an fsdp model, or when the policy did not pick `block`, this just calls the lambda (one
// relaxed atomic load). Under fsdp it gathers the block's parameters before the call, and
// afterwards frees them (FULL_SHARD) and arms the hook that gathers them again for backward.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <type_traits>
#include <vector>

namespace torch::nn {
class Module;
}

namespace fabric {

namespace detail {

/// What a sharding strategy does around a unit's forward (implemented by strategies/fsdp.cpp).
class UnitForwardHooks {
 public:
  virtual ~UnitForwardHooks() = default;
  virtual void before_forward() = 0;
  /// `outputs`: the tensors the forward returned (hooks on them gather again for backward).
  virtual void after_forward(const std::vector<at::Tensor>& outputs) = 0;
  /// The forward threw: put the parameters back in their sharded form.
  virtual void abort_forward() = 0;
};

/// The hooks registered for `module`, or null.
std::shared_ptr<UnitForwardHooks> find_unit(const torch::nn::Module* module);
void register_unit(const torch::nn::Module* module, std::weak_ptr<UnitForwardHooks> hooks);
void unregister_unit(const torch::nn::Module* module);

template <class T>
void collect_output_tensors(const T& out, std::vector<at::Tensor>& into) {
  if constexpr (std::is_same_v<T, at::Tensor>) {
    into.push_back(out);
  } else if constexpr (std::is_same_v<T, std::vector<at::Tensor>>) {
    into.insert(into.end(), out.begin(), out.end());
  } else {
    static_assert(std::is_same_v<T, at::Tensor>,
                  "fsdp_unit: the forward must return a tensor or a vector of tensors");
  }
}

}  // namespace detail

/// Runs `forward()` as the forward of sharding unit `module` (see the top of this file).
template <class F>
auto fsdp_unit(const torch::nn::Module& module, F&& forward) {
  auto unit = detail::find_unit(&module);
  if (!unit) return forward();
  unit->before_forward();
  try {
    auto out = forward();
    std::vector<at::Tensor> tensors;
    detail::collect_output_tensors(out, tensors);
    unit->after_forward(tensors);
    return out;
  } catch (...) {
    unit->abort_forward();
    throw;
  }
}

}  // namespace fabric
