#pragma once

#include <ATen/core/ivalue.h>

namespace fabric {

/// Anything with a state that fabric.save / fabric.load can carry: schedulers, loss scalers,
/// loop counters, user objects (Lightning: any object with state_dict() and load_state_dict()).
class Stateful {
 public:
  virtual ~Stateful() = default;
  virtual c10::IValue state_dict() const = 0;
  virtual void load_state_dict(const c10::IValue& state) = 0;
};

}  // namespace fabric
