// A type-erased handle to a model: a C++ torch::nn::Module or a TorchScript torch::jit::Module.
// Everything Fabric does to a model that does not depend on its forward signature goes through
// this (device moves, dtype casts, state dicts, DDP hooks).
#pragma once

#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}
namespace torch::jit {
struct Module;
}

namespace fabric {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class ModuleRef {
 public:
  ModuleRef() = default;
  explicit ModuleRef(std::shared_ptr<torch::nn::Module> module);
  explicit ModuleRef(std::shared_ptr<torch::jit::Module> module);

  bool defined() const { return nn_ || jit_; }
  bool is_jit() const { return jit_ != nullptr; }
  /// The address that identifies the model (for "passed only once" checks).
  const void* identity() const;
  /// Class name for messages ("Net", "ScriptModule").
  std::string type_name() const;

  std::vector<at::Tensor> parameters() const;
  /// Dotted names as Python's state_dict uses them ("0.weight", "fc1.bias").
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;

  /// Moves parameters and buffers in place: the tensors keep their identity, so optimizers
  /// built on them stay valid.
  void to(const c10::Device& device);
  /// Casts floating parameters and buffers in place; integer buffers keep their dtype.
  void to(c10::ScalarType dtype);
  void train(bool on = true);
  bool is_training() const;

  const std::shared_ptr<torch::nn::Module>& nn() const { return nn_; }
  const std::shared_ptr<torch::jit::Module>& jit() const { return jit_; }

 private:
  std::shared_ptr<torch::nn::Module> nn_;
  std::shared_ptr<torch::jit::Module> jit_;
};

}  // namespace fabric
