// Model state dicts in PyTorch's layout: {"fc1.weight": tensor, ...} (parameters, then buffers).
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

#include "fabric/base/module_ref.hpp"

namespace fabric {

/// Detached CPU copies of parameters and buffers, keyed like Python's state_dict().
c10::impl::GenericDict module_state_dict(const ModuleRef& module);

/// Copies `state` into the module in place. strict: missing or unexpected keys are an error
/// (PyTorch's message); a shape mismatch is always an error.
void load_module_state_dict(const ModuleRef& module, const c10::IValue& state, bool strict);

}  // namespace fabric
