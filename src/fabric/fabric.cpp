#include "fabric/fabric.hpp"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/module.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize/input-archive.h>

#include <cmath>
#include <optional>

#include "common/log.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/checkpoint/full_state_scope.hpp"
#include "fabric/checkpoint/module_state.hpp"
#include "fabric/checkpoint/optimizer_state.hpp"
#include "fabric/checkpoint/sharded_checkpoint.hpp"
#include "fabric/connector.hpp"

namespace fabric {

// ---- BackwardSyncGuard ----------------------------------------------------------------------

BackwardSyncGuard::BackwardSyncGuard(std::shared_ptr<StrategyModuleState> state, bool enabled)
    : state_(std::move(state)) {
  if (state_) {
    previous_ = state_->backward_sync();
    state_->set_backward_sync(!enabled);
  }
}
BackwardSyncGuard::~BackwardSyncGuard() {
  if (state_) state_->set_backward_sync(previous_);
}
BackwardSyncGuard::BackwardSyncGuard(BackwardSyncGuard&& other) noexcept
    : state_(std::move(other.state_)), previous_(other.previous_) {}

// ---- construction ---------------------------------------------------------------------------

Fabric::Fabric(FabricOptions options) {
  Connection c = connect(options);
  accelerator_ = c.accelerator;
  strategy_name_ = c.strategy_name;
  strategy_ = std::move(c.strategy);
  precision_ = std::make_shared<Precision>(c.precision, strategy_->root_device().type());
  callbacks_ = std::move(options.callbacks);
  loggers_ = std::move(options.loggers);
  for (const auto& cb : callbacks_) {
    if (!cb) throw TypeError("callbacks must not contain null pointers");
  }
  for (const auto& lg : loggers_) {
    if (!lg) throw TypeError("loggers must not contain null pointers");
  }
  set_log_rank(strategy_->global_rank());
}

Fabric::~Fabric() = default;

c10::Device Fabric::device() const {
  return strategy_->root_device();
}

Logger& Fabric::logger() const {
  if (loggers_.empty()) throw Error("Fabric has no logger: pass one in FabricOptions::loggers");
  return *loggers_.front();
}

void Fabric::launch() {
  if (launched_) return;  // a second launch() is a no-op, as in Lightning after the first
  strategy_->launch();
  setup_device(device());
  strategy_->setup_environment();
  set_log_rank(strategy_->global_rank());
  launched_ = true;
}

void Fabric::validate_launched(const char* method) const {
  if (strategy_->requires_launch() && !launched_) {
    throw RuntimeError(
        std::string("To use Fabric with more than one device, you must call `.launch()` "
                    "before `") +
        method + "`.");
  }
}

// ---- setup ----------------------------------------------------------------------------------

std::shared_ptr<detail::ModuleSetup> Fabric::setup_module_ref(ModuleRef ref,
                                                              const SetupOptions& options) {
  validate_launched("setup");
  if (!setup_models_.insert(ref.identity()).second) {
    throw ValueError("A model should be passed only once to the `setup` method.");
  }
  precision_->convert_module(ref);
  if (options.move_to_device) {
    std::map<std::string, std::string> devices;
    for (const auto& [name, p] : ref.named_parameters()) devices.emplace(p.device().str(), name);
    if (devices.size() > 1) {
      auto a = devices.begin(), b = std::next(a);
      warn(
          "The model passed to `Fabric.setup()` has parameters on different devices (for example "
          "'" +
          a->second + "' on " + a->first + " and '" + b->second + "' on " + b->first +
          "). Since `move_to_device=True`, all parameters will be moved to the new device.");
    }
    ref.to(device());
  }
  auto setup = std::make_shared<detail::ModuleSetup>();
  setup->strategy_state = strategy_->setup_module(ref);
  if (setup->strategy_state) module_states_.push_back(setup->strategy_state);
  if (setup->strategy_state && setup->strategy_state->shards_parameters()) {
    if (GradScaler* scaler = precision_->scaler()) {  // shards: agree on skipping a step
      scaler->set_found_inf_reducer(
          [this](at::Tensor& found_inf) { strategy_->all_reduce_(found_inf, ReduceOp::Max); });
    }
  }
  setup->precision = precision_;
  if (options.move_to_device) {
    setup->device = device();
  } else {
    auto params = ref.parameters();
    setup->device = params.empty() ? c10::Device(c10::kCPU) : params.front().device();
  }
  setup->ref = std::move(ref);
  ++models_setup_;
  return setup;
}

FabricOptimizer Fabric::setup_optimizer_ptr(std::shared_ptr<torch::optim::Optimizer> optimizer) {
  validate_launched("setup");
  if (!setup_optimizers_.insert(optimizer.get()).second) {
    throw ValueError("An optimizer should be passed only once to the `setup` method.");
  }
  move_optimizer_state_to_params(*optimizer);
  auto setup = std::make_shared<detail::OptimizerSetup>();
  setup->optimizer = std::move(optimizer);
  setup->precision = precision_;
  setup->on_after_step = [this](torch::optim::Optimizer& opt) {
    call("on_after_optimizer_step", HookArgs{{"strategy", strategy_.get()}, {"optimizer", &opt}});
  };
  return FabricOptimizer(std::move(setup));
}

void Fabric::register_loader(const void* origin) {
  if (!setup_loaders_.insert(origin).second) {
    throw ValueError("A dataloader should be passed only once to the `setup_dataloaders` method.");
  }
}

// ---- training -------------------------------------------------------------------------------

void Fabric::backward(const at::Tensor& loss, bool retain_graph) {
  detail::FabricBackwardScope scope;
  precision_->backward(loss, retain_graph);
}

std::optional<double> Fabric::clip_gradients_impl(torch::optim::Optimizer& optimizer,
                                                  const ClipOptions& o) {
  if (o.clip_val && o.max_norm)
    throw ValueError("Only one of `clip_val` or `max_norm` can be set.");
  if (!o.clip_val && !o.max_norm)
    throw ValueError("You have to specify either `clip_val` or `max_norm`.");
  precision_->unscale_gradients(optimizer);
  std::vector<at::Tensor> params;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) params.push_back(p);
  }
  auto sharded = sharded_models();
  try {
    if (o.max_norm && !sharded.empty()) return clip_sharded_norm_(params, o, sharded);
    if (o.clip_val) {
      torch::nn::utils::clip_grad_value_(params, *o.clip_val);
      return std::nullopt;
    }
    return torch::nn::utils::clip_grad_norm_(params, *o.max_norm, o.norm_type,
                                             o.error_if_nonfinite);
  } catch (const c10::Error& e) {
    throw RuntimeError(e.what_without_backtrace());
  }
}

std::vector<std::shared_ptr<StrategyModuleState>> Fabric::sharded_models() const {
  std::vector<std::shared_ptr<StrategyModuleState>> out;
  for (const auto& weak : module_states_) {
    auto state = weak.lock();
    if (state && state->shards_parameters()) out.push_back(std::move(state));
  }
  return out;
}

double Fabric::clip_sharded_norm_(
    const std::vector<at::Tensor>& params, const ClipOptions& o,
    const std::vector<std::shared_ptr<StrategyModuleState>>& sharded) {
  at::NoGradGuard no_grad;
  const double p = o.norm_type;
  const bool inf = std::isinf(p);
  // Shards add up over ranks; whole (replicated) gradients count once.
  at::Tensor shards = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device()));
  at::Tensor whole = shards.clone();
  std::vector<at::Tensor> grads;
  for (const auto& param : params) {
    const at::Tensor& g = param.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    at::Tensor part = inf ? g.detach().abs().max().to(at::kDouble)
                          : g.detach().to(at::kDouble).abs().pow(p).sum();
    bool is_shard = std::any_of(sharded.begin(), sharded.end(),
                                [&](const auto& s) { return s->owns_shard(param); });
    at::Tensor& into = is_shard ? shards : whole;
    into = inf ? at::maximum(into, part) : into + part;
  }
  strategy_->all_reduce_(shards, inf ? ReduceOp::Max : ReduceOp::Sum);
  double total = inf ? std::max(shards.item<double>(), whole.item<double>())
                     : std::pow(shards.item<double>() + whole.item<double>(), 1.0 / p);
  if (o.error_if_nonfinite && !std::isfinite(total)) {
    std::ostringstream os;
    os << "The total norm of order " << p
       << " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable "
          "this error and scale the gradients by the non-finite norm anyway, set "
          "`error_if_nonfinite=False`";
    throw RuntimeError(os.str());
  }
  // As torch.nn.utils.clip_grad_norm_: an fp32 coefficient, clamped at 1, applied to every grad.
  at::Tensor coef = at::clamp_max(*o.max_norm / (at::scalar_tensor(total, at::kFloat) + 1e-6), 1.0);
  for (auto& g : grads) g.mul_(coef.to(g.device(), g.scalar_type()));
  return total;
}

BackwardSyncGuard Fabric::no_backward_sync_impl(detail::ModuleSetup& module, bool enabled) {
  if (!strategy_->supports_backward_sync_control()) {
    if (strategy_->is_distributed()) {
      warn("The `" + strategy_name_ +
           "` strategy does not support skipping the gradient "
           "synchronization. Remove `.no_backward_sync()` from your code or choose a different "
           "strategy.");
    }
    return BackwardSyncGuard();
  }
  return BackwardSyncGuard(module.strategy_state, enabled);
}

// ---- checkpoints ----------------------------------------------------------------------------

void Fabric::save(const std::string& path, const State& state, const SaveFilter& filter) {
  std::vector<std::string> unknown;
  for (const auto& [key, fn] : filter) {
    if (!state.contains(key)) unknown.push_back(key);
    if (!fn)
      throw TypeError("Expected `fabric.save(filter=...)` for key '" + key + "' to be a callable");
  }
  if (!unknown.empty()) {
    std::string k, s;
    for (const auto& u : unknown) k += (k.empty() ? "'" : ", '") + u + "'";
    for (const auto& x : state.keys()) s += (s.empty() ? "'" : ", '") + x + "'";
    throw ValueError("The filter keys {" + k + "} are not present in the state keys {" + s + "}.");
  }
  auto sharded = sharded_models();
  if (!sharded.empty() && strategy_->saves_sharded()) {
    if (!filter.empty())
      throw NotSupportedError(
          "fabric.save: `filter` is not supported with state_dict_type='sharded'");
    return write_sharded_checkpoint(path, state, *strategy_, sharded);
  }
  if (sharded.empty()) {
    if (is_global_zero()) write_checkpoint_file(path, checkpoint_dict(state, filter));
  } else {
    // Gathering is collective: every rank builds the consolidated dict, rank 0 writes it.
    FullStateScope full(std::move(sharded));
    auto out = checkpoint_dict(state, filter);
    if (is_global_zero()) write_checkpoint_file(path, out);
  }
  barrier();
}

c10::impl::GenericDict Fabric::checkpoint_dict(const State& state, const SaveFilter& filter) const {
  c10::impl::GenericDict out(c10::StringType::get(), c10::AnyType::get());
  for (const auto& entry : state) {
    c10::IValue v = entry.value.to_ivalue();
    auto f = filter.find(entry.key);
    if (f != filter.end() && v.isGenericDict()) {
      auto src = v.toGenericDict();
      c10::impl::GenericDict kept(src.keyType(), src.valueType());
      for (const auto& item : src) {
        std::string k = item.key().isString() ? item.key().toStringRef() : item.key().tagKind();
        if (f->second(k, item.value())) kept.insert(item.key(), item.value());
      }
      if (kept.empty()) continue;
      v = kept;
    }
    out.insert(entry.key, v);
  }
  return out;
}

State Fabric::load(const std::string& path, State& state, bool strict) {
  if (is_sharded_checkpoint(path)) {
    ShardedRead read =
        read_sharded_checkpoint(path, global_rank(), world_size(), !sharded_models().empty());
    return restore_checkpoint(read.dict, state, strict, read.consolidated);
  }
  c10::IValue loaded = read_checkpoint_file(path);
  if (!loaded.isGenericDict())
    throw Error("'" + path + "' does not hold a dict; was it written by fabric.save?");
  return restore_checkpoint(loaded.toGenericDict(), state, strict, /*full=*/true);
}

State Fabric::restore_checkpoint(const c10::impl::GenericDict& dict, State& state, bool strict,
                                 bool full) {
  if (state.empty()) {
    barrier();
    return State::from_ivalue(dict);
  }
  std::optional<FullStateScope> scope;
  if (auto sharded = sharded_models(); full && !sharded.empty()) scope.emplace(std::move(sharded));
  std::set<std::string> consumed;
  for (auto& entry : state) {
    if (!dict.contains(entry.key)) {
      if (strict) {
        throw KeyError("The requested state contains a key '" + entry.key +
                       "' that does not exist in the loaded checkpoint. To disable strict loading, "
                       "set strict=False.");
      }
      continue;
    }
    entry.value.restore(dict.at(entry.key), strict, entry.key);
    consumed.insert(entry.key);
  }
  State remainder;
  for (const auto& item : dict) {
    const std::string& key = item.key().toStringRef();
    if (!consumed.count(key)) remainder.set(key, StateValue(item.value()));
  }
  if (scope) scope->commit();
  scope.reset();
  barrier();
  return remainder;
}

State Fabric::load(const std::string& path) {
  State empty;
  return load(path, empty);
}

namespace {
// A raw file is either a pickled state dict (Python's torch.save, or ours) or a LibTorch
// torch::save archive. Returns the state dict, or nullopt after `load_archive` consumed an archive.
// When neither reads, the pickle error (the more telling one) is thrown.
std::optional<c10::IValue> read_raw(
    const std::string& path,
    const std::function<void(torch::serialize::InputArchive&)>& load_archive) {
  try {
    return read_checkpoint_file(path);
  } catch (const FileNotFoundError&) {
    throw;
  } catch (const Error& pickle_error) {
    if (!load_archive) throw;
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path);
      load_archive(archive);
      return std::nullopt;
    } catch (const c10::Error&) {
      throw pickle_error;
    }
  }
}
}  // namespace

void Fabric::load_raw_module(const std::string& path, const ModuleRef& module, bool strict) {
  std::optional<FullStateScope> full;
  if (auto sharded = sharded_models(); !sharded.empty()) full.emplace(std::move(sharded));
  std::function<void(torch::serialize::InputArchive&)> from_archive;
  if (module.nn()) from_archive = [&](torch::serialize::InputArchive& a) { module.nn()->load(a); };
  if (auto state = read_raw(path, from_archive)) load_module_state_dict(module, *state, strict);
  if (full) full->commit();
}

void Fabric::load_raw_optimizer(const std::string& path, torch::optim::Optimizer& optimizer) {
  std::optional<FullStateScope> full;
  if (auto sharded = sharded_models(); !sharded.empty()) full.emplace(std::move(sharded));
  auto from_archive = [&](torch::serialize::InputArchive& a) { optimizer.load(a); };
  if (auto state = read_raw(path, from_archive)) load_optimizer_state_dict(optimizer, *state);
  if (full) full->commit();
}

// ---- collectives ----------------------------------------------------------------------------

void Fabric::barrier(const std::string&) {
  validate_launched("barrier");
  strategy_->barrier();
}

c10::IValue Fabric::broadcast_ivalue(const c10::IValue& value, int src) {
  std::vector<char> bytes = torch::pickle_save(value);
  std::vector<uint8_t> raw(bytes.begin(), bytes.end());
  raw = strategy_->broadcast_bytes(std::move(raw), src);
  return torch::pickle_load(std::vector<char>(raw.begin(), raw.end()));
}

// ---- callbacks and loggers ------------------------------------------------------------------

void Fabric::call(const std::string& name, const HookArgs& args) {
  for (const auto& cb : callbacks_) {
    if (cb->has_hook(name)) cb->invoke(name, args);
  }
}

void Fabric::log(const std::string& name, const MetricValue& value, std::optional<int64_t> step) {
  log_dict({{name, value}}, step);
}

void Fabric::log_dict(const std::map<std::string, MetricValue>& metrics,
                      std::optional<int64_t> step) {
  std::map<std::string, double> scalars;
  for (const auto& [key, value] : metrics) {
    if (const auto* t = std::get_if<at::Tensor>(&value)) {
      if (t->numel() != 1) {
        throw ValueError("The metric `" + key +
                         "` does not contain a single element, thus it cannot be "
                         "converted to a scalar.");
      }
      scalars[key] = t->item<double>();
    } else {
      scalars[key] = std::get<double>(value);
    }
  }
  for (const auto& lg : loggers_) lg->log_metrics(scalars, step);
}

}  // namespace fabric
