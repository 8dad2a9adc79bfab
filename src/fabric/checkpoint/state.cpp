#include "fabric/checkpoint/state.hpp"

#include "common/error.hpp"
#include "fabric/checkpoint/module_state.hpp"
#include "fabric/checkpoint/optimizer_state.hpp"

namespace fabric {

namespace {
c10::IValue to_cpu(const c10::IValue& v) {
  return apply_to_tensors(v, [](const at::Tensor& t) { return t.detach().cpu(); });
}
}  // namespace

StateValue::StateValue(State dict)
    : kind_(Kind::Dict), dict_(std::make_shared<State>(std::move(dict))) {}

const c10::IValue& StateValue::value() const {
  if (kind_ != Kind::Value) throw TypeError("this state entry is not a plain value");
  return value_;
}

const State& StateValue::dict() const {
  if (kind_ != Kind::Dict) throw TypeError("this state entry is not a nested state");
  return *dict_;
}
State& StateValue::dict() {
  if (kind_ != Kind::Dict) throw TypeError("this state entry is not a nested state");
  return *dict_;
}

c10::IValue StateValue::to_ivalue() const {
  switch (kind_) {
    case Kind::Module:
      return module_state_dict(module_);
    case Kind::Optimizer:
      return optimizer_state_dict(*optimizer_);
    case Kind::Stateful:
      return to_cpu(stateful_->state_dict());
    case Kind::Binding:
      return to_cpu(binding_.get());
    case Kind::Value:
      return to_cpu(value_);
    case Kind::Dict:
      return dict_->to_ivalue();
  }
  return {};
}

void StateValue::restore(const c10::IValue& loaded, bool strict, const std::string& key) {
  try {
    switch (kind_) {
      case Kind::Module:
        load_module_state_dict(module_, loaded, strict);
        break;
      case Kind::Optimizer:
        load_optimizer_state_dict(*optimizer_, loaded);
        break;
      case Kind::Stateful:
        stateful_->load_state_dict(loaded);
        break;
      case Kind::Binding:
        binding_.set(loaded);
        break;
      case Kind::Value:
        value_ = loaded;
        break;
      case Kind::Dict:
        if (!loaded.isGenericDict()) {
          throw TypeError("expected a dict in the checkpoint, found " + loaded.tagKind());
        }
        for (auto& entry : *dict_) {
          auto d = loaded.toGenericDict();
          if (d.contains(entry.key)) {
            entry.value.restore(d.at(entry.key), strict, key + "." + entry.key);
          } else if (strict) {
            throw KeyError("The requested state contains a key '" + key + "." + entry.key +
                           "' that does not exist in the loaded checkpoint.");
          }
        }
        break;
    }
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error("cannot restore checkpoint entry '" + key + "': " + e.what_without_backtrace());
  }
}

State::State(std::initializer_list<StateEntry> entries) {
  for (const auto& e : entries) set(e.key, e.value);
}

void State::set(const std::string& key, StateValue value) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.value = std::move(value);
      return;
    }
  }
  entries_.push_back({key, std::move(value)});
}

bool State::contains(const std::string& key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return true;
  }
  return false;
}

StateValue& State::at(const std::string& key) {
  for (auto& e : entries_) {
    if (e.key == key) return e.value;
  }
  throw KeyError("no key '" + key + "' in this state");
}

const StateValue& State::at(const std::string& key) const {
  return const_cast<State*>(this)->at(key);
}

bool State::erase(const std::string& key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->key == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<std::string> State::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.key);
  return out;
}

c10::IValue State::to_ivalue() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  for (const auto& e : entries_) d.insert(e.key, e.value.to_ivalue());
  return d;
}

State State::from_ivalue(const c10::IValue& dict) {
  if (!dict.isGenericDict()) throw TypeError("expected a dict, found " + dict.tagKind());
  State out;
  for (const auto& item : dict.toGenericDict()) {
    if (!item.key().isString()) throw TypeError("checkpoint keys must be strings");
    out.set(item.key().toStringRef(), StateValue(item.value()));
  }
  return out;
}

}  // namespace fabric
