// RAII guards for the two ways a precision changes what runs inside a block: autocast (mixed
// precision) and the default floating dtype (true half / double precision).
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace fabric {

/// Enables autocast to `dtype` on `device` for its lifetime; nests like Python's torch.autocast
/// (the cast cache is cleared when the outermost region exits) and restores the previous state.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, c10::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool prev_enabled_;
  c10::ScalarType prev_dtype_;
};

/// Sets the process-wide default floating dtype for its lifetime, restoring it on exit or throw.
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(c10::ScalarType dtype);
  ~DefaultDtypeGuard();
  DefaultDtypeGuard(const DefaultDtypeGuard&) = delete;
  DefaultDtypeGuard& operator=(const DefaultDtypeGuard&) = delete;

 private:
  c10::ScalarType prev_;
};

}  // namespace fabric
