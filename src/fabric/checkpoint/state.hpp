// The `state` of fabric.save / fabric.load: an ordered dict whose values are models, optimizers,
// stateful objects, bound variables, plain values or nested states.
//
//   int64_t step = 0;
//   fabric::State state{{"model", model}, {"optimizer", optimizer}, {"step", fabric::ref(step)},
//                       {"note", "warm-up"}};
//   fabric.save("ckpt.pt", state);
//   fabric.load("ckpt.pt", state);   // restores model and optimizer in place, writes `step`
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "fabric/base/stateful.hpp"
#include "fabric/wrappers/fabric_module.hpp"
#include "fabric/wrappers/fabric_optimizer.hpp"

namespace fabric {

class State;

/// A variable bound into a State: saved from, and loaded back into, the variable itself.
struct Binding {
  std::function<c10::IValue()> get;
  std::function<void(const c10::IValue&)> set;
};

/// Binds `var` (int, int64_t, double, float, bool, std::string, at::Tensor) into a State.
template <class T>
Binding ref(T& var) {
  return Binding{[&var] { return c10::IValue(var); },
                 [&var](const c10::IValue& v) {
                   if constexpr (std::is_same_v<T, bool>) {
                     var = v.toBool();
                   } else if constexpr (std::is_integral_v<T>) {
                     var = static_cast<T>(v.isDouble() ? v.toDouble() : v.toInt());
                   } else if constexpr (std::is_floating_point_v<T>) {
                     var = static_cast<T>(v.isInt() ? double(v.toInt()) : v.toDouble());
                   } else if constexpr (std::is_same_v<T, std::string>) {
                     var = v.toStringRef();
                   } else {
                     var = v.to<T>();
                   }
                 }};
}

class StateValue {
 public:
  enum class Kind { Module, Optimizer, Stateful, Binding, Value, Dict };

  template <class M>
  requires detail::is_module_like_v<M> StateValue(M& module)
      : kind_(Kind::Module), module_(detail::make_module_ref(module)) {}
  StateValue(torch::optim::Optimizer& optimizer) : kind_(Kind::Optimizer), optimizer_(&optimizer) {}
  StateValue(FabricOptimizer& optimizer) : StateValue(optimizer.optimizer()) {}
  StateValue(Stateful& object) : kind_(Kind::Stateful), stateful_(&object) {}
  StateValue(Binding binding) : kind_(Kind::Binding), binding_(std::move(binding)) {}
  StateValue(c10::IValue value) : kind_(Kind::Value), value_(std::move(value)) {}
  StateValue(const at::Tensor& t) : StateValue(c10::IValue(t)) {}
  StateValue(int v) : StateValue(c10::IValue(int64_t(v))) {}
  StateValue(int64_t v) : StateValue(c10::IValue(v)) {}
  StateValue(double v) : StateValue(c10::IValue(v)) {}
  StateValue(bool v) : StateValue(c10::IValue(v)) {}
  StateValue(const char* v) : StateValue(c10::IValue(std::string(v))) {}
  StateValue(std::string v) : StateValue(c10::IValue(std::move(v))) {}
  StateValue(State dict);

  Kind kind() const { return kind_; }
  /// Kind::Module: the model; Kind::Optimizer: the optimizer (null otherwise).
  const ModuleRef& module() const { return module_; }
  torch::optim::Optimizer* optimizer() const { return optimizer_; }
  /// The plain value (Kind::Value). Throws TypeError for other kinds.
  const c10::IValue& value() const;
  int64_t to_int() const { return value().toInt(); }
  double to_double() const {
    return value().isInt() ? double(value().toInt()) : value().toDouble();
  }
  std::string to_string() const { return value().toStringRef(); }
  at::Tensor to_tensor() const { return value().toTensor(); }
  const State& dict() const;
  State& dict();

  /// What goes into the file: state dicts for models, optimizers and stateful objects.
  c10::IValue to_ivalue() const;
  /// Restores from what was read. Plain values are replaced; the rest are loaded in place.
  void restore(const c10::IValue& loaded, bool strict, const std::string& key);

 private:
  Kind kind_;
  ModuleRef module_;
  torch::optim::Optimizer* optimizer_ = nullptr;
  Stateful* stateful_ = nullptr;
  Binding binding_;
  c10::IValue value_;
  std::shared_ptr<State> dict_;
};

struct StateEntry {
  std::string key{};
  StateValue value;
};

/// Ordered string-keyed dict of StateValue (insertion order is the file's order).
class State {
 public:
  State() = default;
  State(std::initializer_list<StateEntry> entries);

  void set(const std::string& key, StateValue value);
  bool contains(const std::string& key) const;
  StateValue& at(const std::string& key);
  const StateValue& at(const std::string& key) const;
  bool erase(const std::string& key);
  std::vector<std::string> keys() const;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  /// A GenericDict with every value converted by StateValue::to_ivalue.
  c10::IValue to_ivalue() const;
  /// A State of plain values from a string-keyed dict.
  static State from_ivalue(const c10::IValue& dict);

 private:
  std::vector<StateEntry> entries_;
};

/// fabric.save's `filter`: per state key, which items of that entry's dict to keep.
using SaveFilter =
    std::map<std::string, std::function<bool(const std::string&, const c10::IValue&)>>;

}  // namespace fabric
