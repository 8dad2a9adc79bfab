#include "fabric/precision/autocast.hpp"

#include <ATen/autocast_mode.h>
#include <c10/core/DefaultDtype.h>
#include <torch/types.h>

#include "fabric/compat/torch_compat.hpp"

namespace fabric {

AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype)
    : device_(device),
      prev_enabled_(compat::is_autocast_enabled(device)),
      prev_dtype_(compat::get_autocast_dtype(device)) {
  compat::set_autocast_dtype(device, dtype);
  compat::set_autocast_enabled(device, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast_enabled(device_, prev_enabled_);
  compat::set_autocast_dtype(device_, prev_dtype_);
}

DefaultDtypeGuard::DefaultDtypeGuard(c10::ScalarType dtype)
    : prev_(c10::typeMetaToScalarType(c10::get_default_dtype())) {
  torch::set_default_dtype(c10::scalarTypeToTypeMeta(dtype));
}

DefaultDtypeGuard::~DefaultDtypeGuard() {
  torch::set_default_dtype(c10::scalarTypeToTypeMeta(prev_));
}

}  // namespace fabric
