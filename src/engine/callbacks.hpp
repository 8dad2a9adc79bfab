// The [[callbacks]] components, as fabric::Callback objects whose hooks the loop fires through
// fabric.call at Lightning's points. Callbacks with state (checkpoint's best scores, early
// stopping's patience) serialise it into the checkpoint so a resumed run continues them.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/component_factories.hpp"
#include "fabric/callbacks/callback.hpp"

namespace fabric::engine {

class EngineCallback : public Callback {
 public:
  /// State for the checkpoint, as text ("" when stateless).
  virtual std::string state() const { return ""; }
  virtual void load_state(const std::string& text) {}
};

/// [[callbacks]]
struct CallbackFamily {
  static constexpr const char* table = "callbacks";
  using Product = std::shared_ptr<EngineCallback>;
  using Context = const NoContext;
};

/// checkpoint, early_stopping, lr_monitor and throughput.
void add_callback_factories(ComponentFactories& factories);

}  // namespace fabric::engine
