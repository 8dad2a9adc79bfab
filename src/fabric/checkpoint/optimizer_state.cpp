#include "fabric/checkpoint/optimizer_state.hpp"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <sstream>

#include "common/error.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric {

namespace {

using torch::optim::OptimizerOptions;
using torch::optim::OptimizerParamState;
using Dict = c10::impl::GenericDict;

Dict new_dict() {
  return Dict(c10::StringType::get(), c10::AnyType::get());
}

double num(const Dict& d, const char* key) {
  if (!d.contains(key)) throw KeyError(std::string("optimizer state has no '") + key + "'");
  const auto& v = d.at(key);
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return double(v.toInt());
  if (v.isBool()) return v.toBool() ? 1.0 : 0.0;
  if (v.isTensor()) return v.toTensor().item<double>();
  throw TypeError(std::string("optimizer option '") + key + "' is a " + v.tagKind());
}
double num_or(const Dict& d, const char* key, double fallback) {
  return d.contains(key) ? num(d, key) : fallback;
}
at::Tensor tensor_or_empty(const Dict& d, const char* key, const at::Tensor& param) {
  if (!d.contains(key) || d.at(key).isNone()) return {};
  at::Tensor t = d.at(key).toTensor();
  return t.is_floating_point() ? t.to(param.device(), param.scalar_type()) : t.to(param.device());
}
void put(Dict& d, const char* key, const at::Tensor& t) {
  if (t.defined()) d.insert(key, t.detach().cpu());
}
at::Tensor step_tensor(int64_t step) {
  return at::full({}, double(step), at::kFloat);
}

// One codec per optimizer type: Python's names for options and per-parameter state.
struct Codec {
  const char* name;
  bool (*matches)(torch::optim::Optimizer&);
  void (*save_options)(const OptimizerOptions&, Dict&);
  void (*load_options)(OptimizerOptions&, const Dict&);
  void (*save_state)(const OptimizerParamState&, Dict&);
  std::unique_ptr<OptimizerParamState> (*load_state)(const Dict&, const at::Tensor& param);
};

template <class O>
bool is(torch::optim::Optimizer& o) {
  return dynamic_cast<O*>(&o) != nullptr;
}

template <class Options>
void save_adam_like_options(const OptimizerOptions& base, Dict& d) {
  const auto& o = static_cast<const Options&>(base);
  d.insert("lr", o.lr());
  d.insert("betas", c10::ivalue::Tuple::create({std::get<0>(o.betas()), std::get<1>(o.betas())}));
  d.insert("eps", o.eps());
  d.insert("weight_decay", o.weight_decay());
  d.insert("amsgrad", o.amsgrad());
}
template <class Options>
void load_adam_like_options(OptimizerOptions& base, const Dict& d) {
  auto& o = static_cast<Options&>(base);
  o.lr(num(d, "lr"))
      .eps(num_or(d, "eps", o.eps()))
      .weight_decay(num_or(d, "weight_decay", o.weight_decay()));
  o.amsgrad(num_or(d, "amsgrad", o.amsgrad()) != 0);
  if (d.contains("betas")) {
    auto b = d.at("betas");
    auto elems = b.isTuple() ? b.toTupleRef().elements().vec() : b.toList().vec();
    o.betas(std::make_tuple(elems.at(0).toDouble(), elems.at(1).toDouble()));
  }
}
template <class ParamState>
void save_adam_like_state(const OptimizerParamState& base, Dict& d) {
  const auto& s = static_cast<const ParamState&>(base);
  d.insert("step", step_tensor(s.step()));
  put(d, "exp_avg", s.exp_avg());
  put(d, "exp_avg_sq", s.exp_avg_sq());
  put(d, "max_exp_avg_sq", s.max_exp_avg_sq());
}
template <class ParamState>
std::unique_ptr<OptimizerParamState> load_adam_like_state(const Dict& d, const at::Tensor& p) {
  auto s = std::make_unique<ParamState>();
  s->step(static_cast<int64_t>(num(d, "step")));
  s->exp_avg(tensor_or_empty(d, "exp_avg", p));
  s->exp_avg_sq(tensor_or_empty(d, "exp_avg_sq", p));
  s->max_exp_avg_sq(tensor_or_empty(d, "max_exp_avg_sq", p));
  return s;
}

const std::vector<Codec>& codecs() {
  using namespace torch::optim;
  static const std::vector<Codec> all = {
      {"SGD", is<SGD>,
       [](const OptimizerOptions& b, Dict& d) {
         const auto& o = static_cast<const SGDOptions&>(b);
         d.insert("lr", o.lr());
         d.insert("momentum", o.momentum());
         d.insert("dampening", o.dampening());
         d.insert("weight_decay", o.weight_decay());
         d.insert("nesterov", o.nesterov());
       },
       [](OptimizerOptions& b, const Dict& d) {
         auto& o = static_cast<SGDOptions&>(b);
         o.lr(num(d, "lr")).momentum(num_or(d, "momentum", 0)).dampening(num_or(d, "dampening", 0));
         o.weight_decay(num_or(d, "weight_decay", 0)).nesterov(num_or(d, "nesterov", 0) != 0);
       },
       [](const OptimizerParamState& b, Dict& d) {
         put(d, "momentum_buffer", static_cast<const SGDParamState&>(b).momentum_buffer());
       },
       [](const Dict& d, const at::Tensor& p) -> std::unique_ptr<OptimizerParamState> {
         auto s = std::make_unique<SGDParamState>();
         s->momentum_buffer(tensor_or_empty(d, "momentum_buffer", p));
         return s;
       }},
      {"AdamW", is<AdamW>, save_adam_like_options<AdamWOptions>,
       load_adam_like_options<AdamWOptions>, save_adam_like_state<AdamWParamState>,
       load_adam_like_state<AdamWParamState>},
      {"Adam", is<Adam>, save_adam_like_options<AdamOptions>, load_adam_like_options<AdamOptions>,
       save_adam_like_state<AdamParamState>, load_adam_like_state<AdamParamState>},
      {"RMSprop", is<RMSprop>,
       [](const OptimizerOptions& b, Dict& d) {
         const auto& o = static_cast<const RMSpropOptions&>(b);
         d.insert("lr", o.lr());
         d.insert("alpha", o.alpha());
         d.insert("eps", o.eps());
         d.insert("weight_decay", o.weight_decay());
         d.insert("momentum", o.momentum());
         d.insert("centered", o.centered());
       },
       [](OptimizerOptions& b, const Dict& d) {
         auto& o = static_cast<RMSpropOptions&>(b);
         o.lr(num(d, "lr")).alpha(num_or(d, "alpha", o.alpha())).eps(num_or(d, "eps", o.eps()));
         o.weight_decay(num_or(d, "weight_decay", 0)).momentum(num_or(d, "momentum", 0));
         o.centered(num_or(d, "centered", 0) != 0);
       },
       [](const OptimizerParamState& b, Dict& d) {
         const auto& s = static_cast<const RMSpropParamState&>(b);
         d.insert("step", step_tensor(s.step()));
         put(d, "square_avg", s.square_avg());
         put(d, "momentum_buffer", s.momentum_buffer());
         put(d, "grad_avg", s.grad_avg());
       },
       [](const Dict& d, const at::Tensor& p) -> std::unique_ptr<OptimizerParamState> {
         auto s = std::make_unique<RMSpropParamState>();
         s->step(static_cast<int64_t>(num(d, "step")));
         s->square_avg(tensor_or_empty(d, "square_avg", p));
         s->momentum_buffer(tensor_or_empty(d, "momentum_buffer", p));
         s->grad_avg(tensor_or_empty(d, "grad_avg", p));
         return s;
       }},
      {"Adagrad", is<Adagrad>,
       [](const OptimizerOptions& b, Dict& d) {
         const auto& o = static_cast<const AdagradOptions&>(b);
         d.insert("lr", o.lr());
         d.insert("lr_decay", o.lr_decay());
         d.insert("weight_decay", o.weight_decay());
         d.insert("initial_accumulator_value", o.initial_accumulator_value());
         d.insert("eps", o.eps());
       },
       [](OptimizerOptions& b, const Dict& d) {
         auto& o = static_cast<AdagradOptions&>(b);
         o.lr(num(d, "lr"))
             .lr_decay(num_or(d, "lr_decay", 0))
             .weight_decay(num_or(d, "weight_decay", 0));
         o.initial_accumulator_value(num_or(d, "initial_accumulator_value", 0))
             .eps(num_or(d, "eps", o.eps()));
       },
       [](const OptimizerParamState& b, Dict& d) {
         const auto& s = static_cast<const AdagradParamState&>(b);
         d.insert("step", step_tensor(s.step()));
         put(d, "sum", s.sum());
       },
       [](const Dict& d, const at::Tensor& p) -> std::unique_ptr<OptimizerParamState> {
         auto s = std::make_unique<AdagradParamState>();
         s->step(static_cast<int64_t>(num(d, "step")));
         s->sum(tensor_or_empty(d, "sum", p));
         return s;
       }},
  };
  return all;
}

const Codec* find_codec(torch::optim::Optimizer& optimizer) {
  for (const auto& c : codecs()) {
    if (c.matches(optimizer)) return &c;
  }
  return nullptr;
}

constexpr const char* kArchiveKey = "__libtorch_archive__";

thread_local const OptimizerStateMapping* active_mapping = nullptr;

// The per-parameter state dict with every tensor passed through `fn`.
Dict map_tensors(const Dict& d, const OptimizerStateMapping::Fn& fn, const at::Tensor& param) {
  Dict out = new_dict();
  for (const auto& item : d) {
    out.insert(item.key(), item.value().isTensor() ? c10::IValue(fn(param, item.value().toTensor()))
                                                   : item.value());
  }
  return out;
}

}  // namespace

OptimizerStateMapping::OptimizerStateMapping(Fn to, Fn from)
    : to_file(std::move(to)), from_file(std::move(from)), previous_(active_mapping) {
  active_mapping = this;
}
OptimizerStateMapping::~OptimizerStateMapping() {
  active_mapping = previous_;
}
const OptimizerStateMapping* OptimizerStateMapping::active() {
  return active_mapping;
}

c10::impl::GenericDict optimizer_state_dict(torch::optim::Optimizer& optimizer) {
  const Codec* codec = find_codec(optimizer);
  Dict out = new_dict();
  if (!codec) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream os;
    archive.save_to(os);
    std::string bytes = os.str();
    auto t = at::empty({int64_t(bytes.size())}, at::kByte);
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    out.insert(kArchiveKey, t);
    return out;
  }
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  c10::impl::GenericList groups(c10::AnyType::get());
  int64_t index = 0;
  for (auto& group : optimizer.param_groups()) {
    Dict g = new_dict();
    codec->save_options(group.options(), g);
    c10::impl::GenericList ids(c10::IntType::get());
    for (auto& p : group.params()) {
      auto it = optimizer.state().find(compat::optimizer_state_key(p));
      if (it != optimizer.state().end()) {
        Dict s = new_dict();
        codec->save_state(*it->second, s);
        if (active_mapping) s = map_tensors(s, active_mapping->to_file, p);
        state.insert(index, s);
      }
      ids.push_back(index++);
    }
    g.insert("params", ids);
    groups.push_back(g);
  }
  out.insert("state", state);
  out.insert("param_groups", groups);
  return out;
}

void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& value) {
  if (!value.isGenericDict()) {
    throw TypeError("expected an optimizer state dict, found " + value.tagKind());
  }
  Dict d = value.toGenericDict();
  if (d.contains(kArchiveKey)) {
    at::Tensor t = d.at(kArchiveKey).toTensor().contiguous();
    torch::serialize::InputArchive archive;
    archive.load_from(static_cast<const char*>(t.data_ptr()), size_t(t.numel()));
    optimizer.load(archive);
    return;
  }
  const Codec* codec = find_codec(optimizer);
  if (!codec) {
    throw NotSupportedError(
        "this optimizer type has no PyTorch-layout codec; it can only load "
        "checkpoints written by fabric for the same type");
  }
  if (!d.contains("param_groups") || !d.contains("state")) {
    throw KeyError("optimizer state dict needs 'state' and 'param_groups'");
  }
  auto groups = d.at("param_groups").toList();
  auto& mine = optimizer.param_groups();
  if (groups.size() != mine.size()) {
    throw ValueError("loaded state dict has a different number of parameter groups (" +
                     std::to_string(groups.size()) + " vs " + std::to_string(mine.size()) + ")");
  }
  for (size_t i = 0; i < mine.size(); ++i) {
    Dict g = groups.get(i).toGenericDict();
    if (g.at("params").toList().size() != mine[i].params().size()) {
      throw ValueError(
          "loaded state dict contains a parameter group that doesn't match the size of "
          "optimizer's group");
    }
  }
  auto state = d.at("state").toGenericDict();
  optimizer.state().clear();
  for (size_t i = 0; i < mine.size(); ++i) {
    Dict g = groups.get(i).toGenericDict();
    codec->load_options(mine[i].options(), g);
    auto ids = g.at("params").toList();
    for (size_t j = 0; j < ids.size(); ++j) {
      c10::IValue id = ids.get(j);
      if (!state.contains(id)) continue;
      const at::Tensor& p = mine[i].params()[j];
      Dict s = state.at(id).toGenericDict();
      if (active_mapping) s = map_tensors(s, active_mapping->from_file, p);
      optimizer.state()[compat::optimizer_state_key(p)] = codec->load_state(s, p);
    }
  }
}

void move_optimizer_state_to_params(torch::optim::Optimizer& optimizer) {
  if (optimizer.state().empty() || !find_codec(optimizer)) return;
  load_optimizer_state_dict(optimizer, optimizer_state_dict(optimizer));
}

}  // namespace fabric
