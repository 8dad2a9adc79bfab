// FabricOptimizer: what fabric.setup returns for an optimizer. step() goes through the precision
// (loss scaler for 16-mixed) and fires the on_after_optimizer_step hook (Lightning's
// _FabricOptimizer).
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include <functional>
#include <memory>
#include <vector>

#include "fabric/compat/torch_compat.hpp"
#include "fabric/precision/precision.hpp"

namespace fabric {

namespace detail {
struct OptimizerSetup {
  std::shared_ptr<torch::optim::Optimizer> optimizer{};  // non-owning when set up from a reference
  std::shared_ptr<const Precision> precision{};
  std::function<void(torch::optim::Optimizer&)> on_after_step;
};

/// A LibTorch learning-rate scheduler, or a shared_ptr to one.
template <class T>
struct is_scheduler : std::is_base_of<torch::optim::LRScheduler, std::decay_t<T>> {};
template <class S>
struct is_scheduler<std::shared_ptr<S>> : std::is_base_of<torch::optim::LRScheduler, S> {};
template <class T>
inline constexpr bool is_scheduler_v = is_scheduler<std::decay_t<T>>::value;

template <class O>
std::shared_ptr<torch::optim::Optimizer> optimizer_ptr(O&& optimizer) {
  using D = std::decay_t<O>;
  if constexpr (std::is_base_of_v<torch::optim::Optimizer, D>) {
    return std::shared_ptr<torch::optim::Optimizer>(&optimizer, [](torch::optim::Optimizer*) {});
  } else {
    return std::static_pointer_cast<torch::optim::Optimizer>(optimizer);  // std::shared_ptr<Opt>
  }
}
}  // namespace detail

class FabricOptimizer {
 public:
  explicit FabricOptimizer(std::shared_ptr<detail::OptimizerSetup> setup)
      : setup_(std::move(setup)) {}

  /// Steps the optimizer; false when 16-mixed skipped the step for inf/NaN gradients.
  bool step();
  void zero_grad(bool set_to_none = true) { compat::zero_grad(*setup_->optimizer, set_to_none); }

  /// The original optimizer.
  torch::optim::Optimizer& optimizer() const { return *setup_->optimizer; }
  torch::optim::Optimizer* operator->() const { return setup_->optimizer.get(); }
  std::vector<torch::optim::OptimizerParamGroup>& param_groups() const {
    return setup_->optimizer->param_groups();
  }

 private:
  std::shared_ptr<detail::OptimizerSetup> setup_;
};

}  // namespace fabric
