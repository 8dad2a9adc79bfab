#include "fabric/checkpoint/module_state.hpp"

#include <set>
#include <sstream>

#include "common/error.hpp"

namespace fabric {

c10::impl::GenericDict module_state_dict(const ModuleRef& module) {
  c10::impl::GenericDict d(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : module.named_parameters()) d.insert(name, t.detach().cpu());
  for (const auto& [name, t] : module.named_buffers()) {
    if (t.defined()) d.insert(name, t.detach().cpu());
  }
  return d;
}

namespace {
std::string shape_str(at::IntArrayRef s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}
}  // namespace

void load_module_state_dict(const ModuleRef& module, const c10::IValue& state, bool strict) {
  if (state.isNone()) {
    throw TypeError("the model state is None: expected a state dict ({name: tensor})");
  }
  if (!state.isGenericDict()) {
    throw TypeError("expected a model state dict ({name: tensor}), found " + state.tagKind());
  }
  auto dict = state.toGenericDict();
  NamedTensors targets = module.named_parameters();
  for (auto& b : module.named_buffers()) {
    if (b.second.defined()) targets.push_back(b);
  }

  std::vector<std::string> missing, unexpected, errors;
  std::set<std::string> known;
  for (const auto& [name, t] : targets) {
    known.insert(name);
    if (!dict.contains(name)) {
      missing.push_back(name);
      continue;
    }
    const c10::IValue& v = dict.at(name);
    if (!v.isTensor()) {
      errors.push_back("value for " + name + " is a " + v.tagKind() + ", not a tensor");
      continue;
    }
    const at::Tensor& src = v.toTensor();
    if (src.sizes() != t.sizes()) {
      errors.push_back("size mismatch for " + name + ": copying a param with shape " +
                       shape_str(src.sizes()) + " from checkpoint, the shape in current model is " +
                       shape_str(t.sizes()) + ".");
    }
  }
  for (const auto& item : dict) {
    if (!known.count(item.key().toStringRef())) unexpected.push_back(item.key().toStringRef());
  }
  if (strict) {
    if (!missing.empty()) {
      std::string s = "Missing key(s) in state_dict: ";
      for (size_t i = 0; i < missing.size(); ++i) s += (i ? ", \"" : "\"") + missing[i] + "\"";
      errors.insert(errors.begin(), s + ".");
    }
    if (!unexpected.empty()) {
      std::string s = "Unexpected key(s) in state_dict: ";
      for (size_t i = 0; i < unexpected.size(); ++i)
        s += (i ? ", \"" : "\"") + unexpected[i] + "\"";
      errors.push_back(s + ".");
    }
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + module.type_name() + ":";
    for (const auto& e : errors) msg += "\n\t" + e;
    throw Error(msg);
  }
  at::NoGradGuard no_grad;
  for (auto& [name, t] : targets) {
    if (dict.contains(name)) t.copy_(dict.at(name).toTensor());
  }
}

}  // namespace fabric
