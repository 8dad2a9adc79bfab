// Callbacks: objects with named hooks that fabric.call("hook", args) runs (Lightning calls any
// method of that name; C++ registers hooks by name instead). Callbacks without the hook are
// skipped.
//
//   struct PrintEpoch : fabric::Callback {
//     PrintEpoch() {
//       on("on_train_epoch_end", [](const fabric::HookArgs& a) { std::cout << a.get<int>("epoch");
//       });
//     }
//   };
#pragma once

#include <any>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <typeinfo>
#include <utility>

#include "common/error.hpp"

namespace fabric {

/// Keyword arguments of a hook call.
class HookArgs {
 public:
  HookArgs() = default;
  HookArgs(std::initializer_list<std::pair<const std::string, std::any>> args) : args_(args) {}

  bool contains(const std::string& name) const { return args_.count(name) > 0; }
  /// The argument as T; TypeError when absent or of another type.
  template <class T>
  T get(const std::string& name) const {
    auto it = args_.find(name);
    if (it == args_.end()) throw TypeError("hook argument '" + name + "' was not passed");
    if (const T* v = std::any_cast<T>(&it->second)) return *v;
    throw TypeError("hook argument '" + name + "' holds a " + it->second.type().name() +
                    ", not the requested " + typeid(T).name());
  }
  void set(const std::string& name, std::any value) { args_[name] = std::move(value); }
  const std::map<std::string, std::any>& items() const { return args_; }

 private:
  std::map<std::string, std::any> args_;
};

class Callback {
 public:
  using Hook = std::function<void(const HookArgs&)>;
  virtual ~Callback() = default;

  /// Registers (or replaces) the hook `name`.
  Callback& on(const std::string& name, Hook hook);
  bool has_hook(const std::string& name) const { return hooks_.count(name) > 0; }
  void invoke(const std::string& name, const HookArgs& args) const;

 private:
  std::map<std::string, Hook> hooks_;
};

}  // namespace fabric
