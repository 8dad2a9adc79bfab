#include "fabric/callbacks/callback.hpp"

namespace fabric {

Callback& Callback::on(const std::string& name, Hook hook) {
  if (!hook)
    throw ValueError("Skipping the callback hook `" + name + "` because it is not callable.");
  hooks_[name] = std::move(hook);
  return *this;
}

void Callback::invoke(const std::string& name, const HookArgs& args) const {
  auto it = hooks_.find(name);
  if (it != hooks_.end()) it->second(args);
}

}  // namespace fabric
