#include "fabric/precision/precision.hpp"

#include <c10/core/DefaultDtype.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fabric/base/module_ref.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric {

std::string to_string(PrecisionMode mode) {
  switch (mode) {
    case PrecisionMode::True32:
      return "32-true";
    case PrecisionMode::True64:
      return "64-true";
    case PrecisionMode::True16:
      return "16-true";
    case PrecisionMode::TrueBf16:
      return "bf16-true";
    case PrecisionMode::Mixed16:
      return "16-mixed";
    case PrecisionMode::MixedBf16:
      return "bf16-mixed";
  }
  return "?";
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = {"16-true", "16-mixed", "bf16-true", "bf16-mixed",
                                                 "32-true", "64-true",  "64",        "32",
                                                 "16",      "bf16"};
  return names;
}

PrecisionMode parse_precision(const PrecisionInput& input, AcceleratorKind accelerator) {
  const std::string& p = input.text();
  PrecisionMode mode;
  if (p == "32-true" || p == "32") {
    mode = PrecisionMode::True32;
  } else if (p == "64-true" || p == "64") {
    mode = PrecisionMode::True64;
  } else if (p == "16-true") {
    mode = PrecisionMode::True16;
  } else if (p == "bf16-true") {
    mode = PrecisionMode::TrueBf16;
  } else if (p == "16-mixed" || p == "16") {
    mode = PrecisionMode::Mixed16;
  } else if (p == "bf16-mixed") {
    mode = PrecisionMode::MixedBf16;
  } else if (p == "bf16") {
    warn(
        "precision='bf16' is supported for historical reasons but its usage is discouraged. "
        "Please set your precision to bf16-mixed instead!");
    mode = PrecisionMode::MixedBf16;
  } else if (p == "transformer-engine" || p == "transformer-engine-float16") {
    throw NotSupportedError("precision='" + p +
                            "' is not supported yet (no TransformerEngine in C++).");
  } else {
    std::string allowed;
    for (const auto& n : precision_names()) allowed += (allowed.empty() ? "" : ", ") + n;
    throw ValueError("Precision '" + p + "' is invalid. Allowed precision values: " + allowed);
  }
  if (mode == PrecisionMode::Mixed16 && accelerator == AcceleratorKind::Cpu) {
    warn(
        "You passed `Fabric(accelerator='cpu', precision='16-mixed')` but AMP with fp16 is not "
        "supported on CPU. Using `precision='bf16-mixed'` instead.");
    mode = PrecisionMode::MixedBf16;
  }
  return mode;
}

ForwardContext::ForwardContext(std::optional<std::pair<c10::DeviceType, c10::ScalarType>> autocast,
                               std::optional<c10::ScalarType> default_dtype) {
  if (default_dtype) dtype_ = std::make_unique<DefaultDtypeGuard>(*default_dtype);
  if (autocast) autocast_ = std::make_unique<AutocastGuard>(autocast->first, autocast->second);
}

Precision::Precision(PrecisionMode mode, c10::DeviceType device) : mode_(mode), device_(device) {
  if (mode_ == PrecisionMode::Mixed16) {
    if (device_ == c10::kCPU) {
      throw ValueError("16-mixed needs a CUDA device; on CPU use bf16-mixed.");
    }
    scaler_ = std::make_shared<GradScaler>();
  }
  if ((mode_ == PrecisionMode::Mixed16 || mode_ == PrecisionMode::MixedBf16) &&
      !compat::autocast_supports(device_,
                                 mode_ == PrecisionMode::Mixed16 ? at::kHalf : at::kBFloat16)) {
    throw NotSupportedError(to_string(mode_) + " is not supported on " +
                            c10::DeviceTypeName(device_, true) + " by LibTorch " +
                            compat::torch_version() + " (no autocast for this dtype).");
  }
}

std::optional<c10::ScalarType> Precision::module_dtype() const {
  switch (mode_) {
    case PrecisionMode::True64:
      return at::kDouble;
    case PrecisionMode::True16:
      return at::kHalf;
    case PrecisionMode::TrueBf16:
      return at::kBFloat16;
    default:
      return std::nullopt;
  }
}

std::optional<c10::ScalarType> Precision::input_dtype() const {
  switch (mode_) {
    case PrecisionMode::True64:
      return at::kDouble;
    case PrecisionMode::True16:
    case PrecisionMode::Mixed16:
      return at::kHalf;
    case PrecisionMode::TrueBf16:
    case PrecisionMode::MixedBf16:
      return at::kBFloat16;
    default:
      return std::nullopt;
  }
}

void Precision::convert_module(ModuleRef& module) const {
  if (auto dtype = module_dtype()) module.to(*dtype);
}

at::Tensor Precision::convert_input(const at::Tensor& t) const {
  auto dtype = input_dtype();
  if (!dtype || !t.defined() || !t.is_floating_point()) return t;
  return t.to(*dtype);
}

at::Tensor Precision::convert_output(const at::Tensor& t) const {
  if (mode_ == PrecisionMode::True32 || !t.defined() || !t.is_floating_point()) return t;
  auto default_dtype = c10::typeMetaToScalarType(c10::get_default_dtype());
  return t.scalar_type() == default_dtype ? t : t.to(default_dtype);
}

ForwardContext Precision::forward_context() const {
  switch (mode_) {
    case PrecisionMode::Mixed16:
      return ForwardContext(std::make_pair(device_, at::kHalf), {});
    case PrecisionMode::MixedBf16:
      return ForwardContext(std::make_pair(device_, at::kBFloat16), {});
    case PrecisionMode::True64:
    case PrecisionMode::True16:
    case PrecisionMode::TrueBf16:
      return ForwardContext({}, module_dtype());
    default:
      return ForwardContext();
  }
}

bool Precision::requires_fabric_backward() const {
  return mode_ == PrecisionMode::Mixed16 || mode_ == PrecisionMode::MixedBf16;
}

void Precision::backward(const at::Tensor& loss, bool retain_graph) const {
  at::Tensor target = scaler_ ? scaler_->scale(loss) : loss;
  target.backward({}, retain_graph);
}

void Precision::unscale_gradients(torch::optim::Optimizer& optimizer) const {
  if (scaler_) scaler_->unscale_(optimizer);
}

bool Precision::optimizer_step(torch::optim::Optimizer& optimizer) const {
  if (!scaler_) {
    optimizer.step();
    return true;
  }
  bool stepped = scaler_->step(optimizer);
  scaler_->update();
  return stepped;
}

}  // namespace fabric
