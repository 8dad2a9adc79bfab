// FabricModule<M>: what fabric.setup returns for a model. Calling it runs the model's forward
// with the precision's input casts, autocast / default dtype, and output casts (Lightning's
// _FabricModule). M is a module holder (`Net`), a std::shared_ptr<NetImpl>, or a TorchScript
// torch::jit::Module (include <torch/script.h> for that one; forward then takes and returns
// c10::IValue).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "fabric/base/module_ref.hpp"
#include "fabric/precision/precision.hpp"
#include "fabric/strategies/strategy.hpp"
#include "fabric/utilities/apply.hpp"

namespace fabric {

template <class M>
class FabricModule;

namespace detail {

template <class M>
inline constexpr bool is_jit_module_v = std::is_same_v<std::decay_t<M>, torch::jit::Module>;
template <class M>
inline constexpr bool is_holder_v =
    std::is_base_of_v<torch::detail::ModuleHolderIndicator, std::decay_t<M>>;
template <class T>
struct is_fabric_module : std::false_type {};
template <class M>
struct is_fabric_module<FabricModule<M>> : std::true_type {};
template <class T>
struct is_nn_shared_ptr : std::false_type {};
template <class T>
struct is_nn_shared_ptr<std::shared_ptr<T>> : std::is_base_of<torch::nn::Module, T> {};

/// Whether T is something Fabric treats as a model.
template <class T>
inline constexpr bool is_module_like_v =
    is_jit_module_v<T> || is_holder_v<T> || is_fabric_module<std::decay_t<T>>::value ||
    is_nn_shared_ptr<std::decay_t<T>>::value;

template <class M>
ModuleRef make_module_ref(M& module) {
  if constexpr (is_fabric_module<std::decay_t<M>>::value) {
    return module.module_ref();
  } else if constexpr (is_jit_module_v<M>) {
    return ModuleRef(std::make_shared<std::decay_t<M>>(module));  // shares the script object
  } else if constexpr (is_holder_v<M>) {
    return ModuleRef(std::static_pointer_cast<torch::nn::Module>(module.ptr()));
  } else {
    static_assert(is_nn_shared_ptr<std::decay_t<M>>::value,
                  "expected a module holder, std::shared_ptr<Module> or torch::jit::Module");
    return ModuleRef(std::static_pointer_cast<torch::nn::Module>(module));
  }
}

/// True while fabric.backward runs (any thread): outputs of models under a precision that
/// needs fabric.backward refuse a plain loss.backward() otherwise.
bool in_fabric_backward();
class FabricBackwardScope {
 public:
  FabricBackwardScope();
  ~FabricBackwardScope();
};

/// The type-erased state of a set-up model, shared by the copies of its FabricModule.
struct ModuleSetup {
  ModuleRef ref{};
  std::shared_ptr<const Precision> precision{};
  std::shared_ptr<StrategyModuleState> strategy_state{};
  c10::Device device = c10::Device(c10::kCPU);

  at::Tensor convert_input(const at::Tensor& t) const { return precision->convert_input(t); }
  /// Casts an output back and, where required, arms the fabric.backward check on it.
  at::Tensor finish_output(const at::Tensor& t) const;
};

}  // namespace detail

template <class M>
class FabricModule {
 public:
  FabricModule(M module, std::shared_ptr<detail::ModuleSetup> setup)
      : module_(std::move(module)), setup_(std::move(setup)) {}

  template <class... Args>
  auto operator()(Args&&... args) {
    return forward(std::forward<Args>(args)...);
  }

  template <class... Args>
  auto forward(Args&&... args) {
    // Outputs are cast back after the context closes, so that "the default dtype" is fp32 again.
    // Only sharding strategies act around the forward: DDP's forward stays as it was.
    StrategyModuleState* strategy =
        setup_->strategy_state && setup_->strategy_state->shards_parameters()
            ? setup_->strategy_state.get()
            : nullptr;
    if (strategy) strategy->before_forward();  // fsdp: gathers the root unit's parameters
    try {
      auto out = [&] {
        auto context = setup_->precision->forward_context();
        if constexpr (detail::is_jit_module_v<M>) {
          std::vector<c10::IValue> inputs{convert(c10::IValue(std::forward<Args>(args)))...};
          return module_.forward(std::move(inputs));
        } else {
          return module_->forward(convert(std::forward<Args>(args))...);
        }
      }();
      if (strategy) {
        std::vector<at::Tensor> tensors;
        apply_to_tensors(out, [&](const at::Tensor& t) {
          tensors.push_back(t);
          return t;
        });
        strategy->after_forward(tensors);
      }
      return finish(out);
    } catch (const std::exception& e) {
      if (!strategy) throw;
      std::string why = strategy->abort_forward();
      if (why.empty()) throw;
      throw RuntimeError(std::string(e.what()) + "\n" + why);
    }
  }

  /// The original (unwrapped) model.
  M& module() { return module_; }
  const M& module() const { return module_; }
  auto operator->() const requires(!detail::is_jit_module_v<M>) { return module_.operator->(); }

  /// fabric.device, or the parameters' device when set up with move_to_device = false.
  c10::Device device() const { return setup_->device; }
  const ModuleRef& module_ref() const { return setup_->ref; }
  detail::ModuleSetup& setup_state() const { return *setup_; }
  std::vector<at::Tensor> parameters() const { return setup_->ref.parameters(); }
  void train(bool on = true) { setup_->ref.train(on); }
  void eval() { setup_->ref.train(false); }
  bool is_training() const { return setup_->ref.is_training(); }

 private:
  template <class T>
  decltype(auto) convert(T&& value) const {
    using D = std::decay_t<T>;
    if constexpr (std::is_same_v<D, at::Tensor> || std::is_same_v<D, c10::IValue> ||
                  detail::is_vector<D>::value || detail::is_tuple<D>::value) {
      return apply_to_tensors(D(value),
                              [&](const at::Tensor& t) { return setup_->convert_input(t); });
    } else {
      return std::forward<T>(value);
    }
  }
  template <class T>
  T finish(const T& out) const {
    return apply_to_tensors(out, [&](const at::Tensor& t) { return setup_->finish_output(t); });
  }

  M module_;
  std::shared_ptr<detail::ModuleSetup> setup_;
};

}  // namespace fabric
