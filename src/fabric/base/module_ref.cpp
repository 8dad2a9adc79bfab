#include "fabric/base/module_ref.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>

namespace fabric {

ModuleRef::ModuleRef(std::shared_ptr<torch::nn::Module> module) : nn_(std::move(module)) {}
ModuleRef::ModuleRef(std::shared_ptr<torch::jit::Module> module) : jit_(std::move(module)) {}

const void* ModuleRef::identity() const {
  if (nn_) return nn_.get();
  if (jit_) return jit_->_ivalue().get();
  return nullptr;
}

std::string ModuleRef::type_name() const {
  if (nn_) return nn_->name();
  if (jit_) return jit_->type()->name() ? jit_->type()->name()->name() : "ScriptModule";
  return "<none>";
}

std::vector<at::Tensor> ModuleRef::parameters() const {
  std::vector<at::Tensor> out;
  if (nn_) return nn_->parameters();
  if (jit_) {
    for (const auto& p : jit_->parameters()) out.push_back(p);
  }
  return out;
}

NamedTensors ModuleRef::named_parameters() const {
  NamedTensors out;
  if (nn_) {
    for (const auto& item : nn_->named_parameters()) out.emplace_back(item.key(), item.value());
  } else if (jit_) {
    for (const auto& item : jit_->named_parameters()) out.emplace_back(item.name, item.value);
  }
  return out;
}

NamedTensors ModuleRef::named_buffers() const {
  NamedTensors out;
  if (nn_) {
    for (const auto& item : nn_->named_buffers()) out.emplace_back(item.key(), item.value());
  } else if (jit_) {
    for (const auto& item : jit_->named_buffers()) out.emplace_back(item.name, item.value);
  }
  return out;
}

void ModuleRef::to(const c10::Device& device) {
  if (nn_) nn_->to(device);
  if (jit_) jit_->to(device);
}

void ModuleRef::to(c10::ScalarType dtype) {
  at::NoGradGuard no_grad;
  auto cast = [&](at::Tensor t) {
    if (t.defined() && t.is_floating_point() && t.scalar_type() != dtype) t.set_data(t.to(dtype));
  };
  for (auto& [name, t] : named_parameters()) {
    cast(t);
    // A cast parameter keeps no stale gradient of the old dtype.
    if (t.grad().defined()) t.mutable_grad() = at::Tensor();
  }
  for (auto& [name, t] : named_buffers()) cast(t);
}

void ModuleRef::train(bool on) {
  if (nn_) nn_->train(on);
  if (jit_) jit_->train(on);
}

bool ModuleRef::is_training() const {
  if (nn_) return nn_->is_training();
  if (jit_) return jit_->is_training();
  return false;
}

}  // namespace fabric
