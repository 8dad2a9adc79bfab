// The precision plugin: one class, table-driven by the mode, as Lightning's Precision /
// DoublePrecision / HalfPrecision / MixedPrecision plugins.
//
// | mode       | weights | inside forward           | inputs -> | outputs -> | backward/step     |
// | 32-true    | fp32    | -                        | -         | -          | plain             |
// | 64-true    | fp64    | default dtype fp64       | fp64      | fp32       | plain             |
// | 16-true    | fp16    | default dtype fp16       | fp16      | fp32       | plain             |
// | bf16-true  | bf16    | default dtype bf16       | bf16      | fp32       | plain             |
// | 16-mixed   | fp32    | autocast fp16            | fp16      | fp32       | GradScaler        |
// | bf16-mixed | fp32    | autocast bf16            | bf16      | fp32       | plain             |
#pragma once

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabric/accelerators/accelerator.hpp"
#include "fabric/options.hpp"
#include "fabric/precision/autocast.hpp"
#include "fabric/precision/grad_scaler.hpp"

namespace fabric {

class ModuleRef;

enum class PrecisionMode { True32, True64, True16, TrueBf16, Mixed16, MixedBf16 };

std::string to_string(PrecisionMode mode);
/// The full names accepted, in Lightning's order, for messages and docs.
const std::vector<std::string>& precision_names();

/// Parses a precision input (full name or legacy alias) for `accelerator`. Warns for the "bf16"
/// alias and for 16-mixed on CPU (which falls back to bf16-mixed, as Lightning). Throws
/// ValueError listing the allowed values on anything else.
PrecisionMode parse_precision(const PrecisionInput& input, AcceleratorKind accelerator);

/// What runs around a forward pass: autocast and/or a default-dtype change.
class ForwardContext {
 public:
  ForwardContext() = default;
  ForwardContext(std::optional<std::pair<c10::DeviceType, c10::ScalarType>> autocast,
                 std::optional<c10::ScalarType> default_dtype);

 private:
  std::unique_ptr<AutocastGuard> autocast_;
  std::unique_ptr<DefaultDtypeGuard> dtype_;
};

class Precision {
 public:
  Precision(PrecisionMode mode, c10::DeviceType device);

  PrecisionMode mode() const { return mode_; }
  std::string name() const { return to_string(mode_); }

  /// Weights dtype for *-true and 64-true (module_init_context's default dtype); none for
  /// 32-true and the mixed modes, whose weights stay fp32.
  std::optional<c10::ScalarType> module_dtype() const;
  /// Floating inputs of the model's forward are cast to this.
  std::optional<c10::ScalarType> input_dtype() const;

  void convert_module(ModuleRef& module) const;
  at::Tensor convert_input(const at::Tensor& t) const;
  /// Floating outputs go back to the default dtype (fp32), as Lightning's convert_output.
  at::Tensor convert_output(const at::Tensor& t) const;
  /// Autocast for the mixed modes, default dtype for the true half / double modes.
  ForwardContext forward_context() const;
  /// Whether loss.backward() must go through fabric.backward (mixed modes), so that outputs of
  /// a set-up model refuse a plain backward.
  bool requires_fabric_backward() const;

  /// loss.backward(), scaled for 16-mixed.
  void backward(const at::Tensor& loss, bool retain_graph = false) const;
  /// Undoes the loss scale on the optimizer's gradients (16-mixed only) so clipping sees the
  /// true gradients.
  void unscale_gradients(torch::optim::Optimizer& optimizer) const;
  /// opt.step(); for 16-mixed scaler.step + scaler.update. Returns whether the step was taken.
  bool optimizer_step(torch::optim::Optimizer& optimizer) const;

  /// The loss scaler (16-mixed only), to put into fabric.save's state.
  GradScaler* scaler() const { return scaler_.get(); }

 private:
  PrecisionMode mode_;
  c10::DeviceType device_;
  std::shared_ptr<GradScaler> scaler_;
};

}  // namespace fabric
