// The [[callbacks]] components, as fabric::Callback objects whose hooks the loop fires through
// fabric.call at Lightning's points. Callbacks with state (checkpoint's best scores, early
// stopping's patience) serialise it into the checkpoint so a resumed run continues them.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/params.hpp"
#include "fabric/callbacks/callback.hpp"

namespace fabric::engine {

class EngineCallback : public Callback {
 public:
  /// State for the checkpoint, as text ("" when stateless).
  virtual std::string state() const { return ""; }
  virtual void load_state(const std::string& text) {}
};

using CallbackFactory = std::function<std::shared_ptr<EngineCallback>(const Params&)>;

/// Adds a callback kind (a user's, declared in the recipe registry as well). Built-ins are
/// checkpoint, early_stopping, lr_monitor and throughput.
void register_callback(const std::string& kind, CallbackFactory factory);
std::shared_ptr<EngineCallback> build_callback(const Params& callback);

}  // namespace fabric::engine
