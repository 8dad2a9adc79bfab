#include "fabric/strategies/fsdp.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/nn/module.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fabric/base/module_ref.hpp"
#include "fabric/strategies/fsdp_rows.hpp"
#include "fabric/strategies/sharding_unit.hpp"

namespace fabric {

ShardingStrategy parse_sharding_strategy(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (name == "FULL_SHARD") return ShardingStrategy::FullShard;
  if (name == "SHARD_GRAD_OP") return ShardingStrategy::ShardGradOp;
  if (name == "NO_SHARD") return ShardingStrategy::NoShard;
  throw ValueError("fsdp: sharding_strategy='" + raw +
                   "' is not one of FULL_SHARD, SHARD_GRAD_OP, NO_SHARD");
}

namespace {

using detail::all_gather_rows;
using detail::copy_flat_to_rows;
using detail::copy_rows_to_flat;
using detail::reduce_scatter_rows;

struct ShardedParam {
  std::string name;
  at::Tensor param;  // the module's tensor: its data is `shard`, or `full` while gathered
  int64_t numel = 0;
  int64_t chunk = 0;        // ceil(numel / world): every rank's shard length
  int64_t offset = 0;       // of the shard in its unit's local flat vector
  int64_t base = 0;         // of the full parameter in its unit's buffer
  at::Tensor shard;         // [chunk]: elements [rank * chunk, (rank + 1) * chunk), zero padded
  at::Tensor full;          // the parameter's shape, a view of its unit's buffer
  at::Tensor stashed_grad;  // the shard gradient, set aside while a backward runs
  bool full_grad_pending = false;  // .grad holds a full gradient accumulated without sync
  size_t unit = 0;
};

class FSDPModuleState;

// A unit's hooks for fabric::fsdp_unit; forwards to its model's state.
class UnitHooks final : public detail::UnitForwardHooks {
 public:
  UnitHooks(std::weak_ptr<FSDPModuleState> owner, size_t unit)
      : owner_(std::move(owner)), unit_(unit) {}
  void before_forward() override;
  void after_forward(const std::vector<at::Tensor>& outputs) override;
  void abort_forward() override;

 private:
  std::weak_ptr<FSDPModuleState> owner_;
  size_t unit_;
};

struct Unit {
  std::string name;  // "" for the root
  const torch::nn::Module* module = nullptr;
  std::vector<size_t> params;
  int64_t local_numel = 0;  // sum of the shards' lengths
  at::Tensor buffer;        // the full parameters, one after another; zero bytes while freed
  bool allocated = false;   // the buffer has storage holding the gathered values
  bool in_use = false;      // the parameters' data point into the buffer
  size_t pending = 0;       // gradients still to arrive in this backward
  size_t with_grad = 0;     // parameters that require a gradient
  bool reduced = false;
  bool entered = false;  // ran its forward since the root's forward began
  std::shared_ptr<UnitHooks> hooks;
};

class FSDPModuleState : public StrategyModuleState,
                        public std::enable_shared_from_this<FSDPModuleState> {
 public:
  FSDPModuleState(c10d::ProcessGroup* pg, int rank, int world, ShardingStrategy sharding)
      : pg_(pg), rank_(rank), world_(world), sharding_(sharding) {}

  ~FSDPModuleState() override {
    for (auto& u : units_) {
      if (u.module) detail::unregister_unit(u.module);
    }
  }

  void build(ModuleRef& module, const UnitPolicy& policy) {
    std::vector<std::pair<std::string, const torch::nn::Module*>> chosen;
    if (policy) {
      for (const auto& item : module.nn()->named_modules("", /*include_self=*/false)) {
        if (policy(item.key(), *item.value())) chosen.emplace_back(item.key(), item.value().get());
      }
    }
    units_.resize(chosen.size() + 1);
    for (size_t u = 0; u < chosen.size(); ++u) {
      units_[u].name = chosen[u].first;
      units_[u].module = chosen[u].second;
    }
    Unit& root = units_.back();
    root.name = "";
    // A parameter belongs to the deepest unit whose name prefixes its own.
    std::map<const void*, size_t> seen;
    for (auto& [name, p] : module.named_parameters()) {
      if (seen.count(p.unsafeGetTensorImpl())) continue;  // tied: one shard for both names
      seen.emplace(p.unsafeGetTensorImpl(), params_.size());
      size_t owner = units_.size() - 1;
      size_t depth = 0;
      for (size_t u = 0; u + 1 < units_.size(); ++u) {
        const std::string& prefix = units_[u].name;
        if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
            name[prefix.size()] == '.' && prefix.size() >= depth) {
          owner = u;
          depth = prefix.size();
        }
      }
      ShardedParam sp;
      sp.name = name;
      sp.param = p;
      sp.unit = owner;
      params_.push_back(std::move(sp));
      units_[owner].params.push_back(params_.size() - 1);
    }
    install_hooks();  // first: accumulators record the full shapes
    for (size_t u = 0; u < units_.size(); ++u) shard_unit(u);
    for (size_t u = 0; u + 1 < units_.size(); ++u) {
      units_[u].hooks = std::make_shared<UnitHooks>(weak_from_this(), u);
      detail::register_unit(units_[u].module, units_[u].hooks);
    }
  }

  // ---- the forward ----------------------------------------------------------------------------

  void before_forward() override {
    for (auto& u : units_) u.entered = false;
    unit_before_forward(units_.size() - 1);
  }
  void after_forward(const std::vector<at::Tensor>& outputs) override {
    unit_after_forward(units_.size() - 1, outputs);
  }
  std::string abort_forward() override {
    std::string missing;
    for (size_t u = 0; u + 1 < units_.size(); ++u) {
      if (!units_[u].entered) missing += (missing.empty() ? "'" : ", '") + units_[u].name + "'";
      release(u, /*free_storage=*/true);
    }
    release(units_.size() - 1, true);
    if (missing.empty()) return "";
    return "fsdp: the sharding units " + missing +
           " did not run before the error. A unit's forward must go through "
           "fabric::fsdp_unit(module, fn), or its parameters stay sharded (1-D).";
  }

  void unit_before_forward(size_t u) {
    Unit& unit = units_[u];
    unit.entered = true;
    gather(u);
  }
  void unit_after_forward(size_t u, const std::vector<at::Tensor>& outputs) {
    const bool root = u + 1 == units_.size();
    bool backward_follows = false;
    if (c10::GradMode::is_enabled()) {
      std::weak_ptr<FSDPModuleState> weak = weak_from_this();
      for (const auto& out : outputs) {
        if (!out.defined() || !out.requires_grad()) continue;
        backward_follows = true;
        out.register_hook([weak, u](const at::Tensor&) {
          if (auto self = weak.lock()) self->pre_backward(u);
        });
      }
    }
    // The root and SHARD_GRAD_OP units keep their gathered buffer for backward.
    const bool keep = backward_follows && (root || sharding_ == ShardingStrategy::ShardGradOp);
    release(u, !keep);
  }
  void unit_abort_forward(size_t u) { release(u, true); }

  // ---- the backward ---------------------------------------------------------------------------

  void pre_backward(size_t u) {
    queue_finalize();
    Unit& unit = units_[u];
    if (unit.in_use || unit.reduced) return;
    for (size_t k : unit.params) {
      ShardedParam& sp = params_[k];
      if (sp.param.grad().defined() && !sp.full_grad_pending) {
        sp.stashed_grad = sp.param.grad();  // a shard gradient from an earlier backward
        sp.param.mutable_grad().reset();
      }
    }
    gather(u);
  }

  void on_grad_ready(size_t k) {
    queue_finalize();
    ShardedParam& sp = params_[k];
    Unit& unit = units_[sp.unit];
    if (!sync_) {
      sp.full_grad_pending = true;
      return;
    }
    if (unit.pending > 0 && --unit.pending == 0) {
      reduce(sp.unit);
      release(sp.unit, true);
    }
  }

  // Once at the end of every backward pass.
  void finalize() {
    for (size_t u = 0; u < units_.size(); ++u) {
      Unit& unit = units_[u];
      if (sync_ && !unit.reduced && unit.in_use) reduce(u);
      release(u, true);
      unit.pending = unit.with_grad;
      unit.reduced = false;
    }
    finalize_queued_ = false;
  }

  void set_backward_sync(bool enabled) override { sync_ = enabled; }
  bool backward_sync() const override { return sync_; }
  bool shards_parameters() const override { return true; }

  // ---- checkpoints ----------------------------------------------------------------------------

  void gather_full_params() override {
    for (size_t u = 0; u < units_.size(); ++u) gather(u);
  }
  void release_full_params(bool write_back) override {
    at::NoGradGuard no_grad;
    for (size_t u = 0; u < units_.size(); ++u) {
      if (write_back && units_[u].in_use) {
        for (size_t k : units_[u].params) {
          ShardedParam& sp = params_[k];
          sp.shard.copy_(shard_of(sp, sp.full.reshape(-1)));
        }
      }
      release(u, true);
    }
  }
  bool owns_shard(const at::Tensor& param) const override {
    return index_.count(param.unsafeGetTensorImpl()) > 0;
  }
  std::vector<int64_t> full_shape(const at::Tensor& param) const override {
    const ShardedParam* sp = find(param);
    return sp ? sp->full.sizes().vec() : param.sizes().vec();
  }
  at::Tensor full_state_tensor(const at::Tensor& param, const at::Tensor& value) override {
    const ShardedParam* sp = find(param);
    if (!sp || value.dim() != 1 || value.numel() != sp->chunk) return value;  // "step" and kin
    at::Tensor local = value.to(sp->shard.device()).contiguous();
    at::Tensor gathered = at::empty({world_, sp->chunk}, local.options());
    all_gather_rows(*pg_, world_, gathered, local);
    return gathered.reshape(-1).narrow(0, 0, sp->numel).view(sp->full.sizes()).to(value.device());
  }
  at::Tensor shard_state_tensor(const at::Tensor& param, const at::Tensor& value) override {
    const ShardedParam* sp = find(param);
    if (!sp || value.dim() == 0 || value.numel() != sp->numel) return value;
    return shard_of(*sp, value.reshape(-1));
  }

 private:
  const ShardedParam* find(const at::Tensor& param) const {
    auto it = index_.find(param.unsafeGetTensorImpl());
    return it == index_.end() ? nullptr : &params_[it->second];
  }

  // This rank's zero-padded chunk of a flattened full tensor.
  at::Tensor shard_of(const ShardedParam& sp, const at::Tensor& flat) const {
    at::Tensor out = at::zeros({sp.chunk}, flat.options());
    const int64_t begin = std::min<int64_t>(int64_t(rank_) * sp.chunk, sp.numel);
    const int64_t len = std::min<int64_t>(sp.chunk, sp.numel - begin);
    if (len > 0) out.narrow(0, 0, len).copy_(flat.narrow(0, begin, len));
    return out;
  }

  void shard_unit(size_t u) {
    at::NoGradGuard no_grad;
    Unit& unit = units_[u];
    int64_t full_numel = 0;
    for (size_t k : unit.params) {
      ShardedParam& sp = params_[k];
      const at::Tensor& first = params_[unit.params.front()].param;
      if (sp.param.scalar_type() != first.scalar_type() || sp.param.device() != first.device()) {
        throw ValueError("fsdp: unit '" + unit.name + "' mixes parameter dtypes or devices ('" +
                         sp.name + "' and '" + params_[unit.params.front()].name +
                         "'); choose units whose parameters share one dtype and device");
      }
      sp.numel = sp.param.numel();
      sp.chunk = (sp.numel + world_ - 1) / world_;
      sp.offset = unit.local_numel;
      sp.base = full_numel;
      unit.local_numel += sp.chunk;
      full_numel += sp.numel;
      index_.emplace(sp.param.unsafeGetTensorImpl(), k);
    }
    if (unit.params.empty()) return;
    const at::Tensor& first = params_[unit.params.front()].param;
    unit.buffer = at::empty({full_numel}, first.options());
    for (size_t k : unit.params) {
      ShardedParam& sp = params_[k];
      sp.shard = shard_of(sp, sp.param.detach().reshape(-1));
      sp.full = unit.buffer.narrow(0, sp.base, sp.numel).view(sp.param.sizes());
      sp.param.mutable_grad().reset();
    }
    unit.allocated = true;
    unit.in_use = true;  // the parameters still hold their full data: release swaps in the shards
    release(u, true);
  }

  void install_hooks() {
    std::weak_ptr<FSDPModuleState> weak = weak_from_this();
    for (size_t k = 0; k < params_.size(); ++k) {
      if (!params_[k].param.requires_grad()) continue;
      // Created now, while the parameter has its full shape: autograd checks gradients against
      // the shape the accumulator recorded. Held here, as the tensor only holds it weakly.
      auto acc = torch::autograd::impl::grad_accumulator(params_[k].param);
      if (!acc) throw RuntimeError("fsdp: parameter '" + params_[k].name + "' has no accumulator");
      acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [weak, k](const torch::autograd::variable_list& outputs,
                    const torch::autograd::variable_list&) {
            if (auto self = weak.lock()) self->on_grad_ready(k);
            return outputs;
          }));
      accumulators_.push_back(std::move(acc));
      units_[params_[k].unit].with_grad++;
    }
    for (auto& u : units_) u.pending = u.with_grad;
  }

  void queue_finalize() {
    if (finalize_queued_) return;
    finalize_queued_ = true;
    std::weak_ptr<FSDPModuleState> weak = weak_from_this();
    torch::autograd::Engine::get_default_engine().queue_callback([weak] {
      if (auto self = weak.lock()) self->finalize();
    });
  }

  void set_storage(Unit& unit, bool allocate) {
    c10::StorageImpl* storage = unit.buffer.storage().unsafeGetStorageImpl();
    const size_t nbytes = size_t(unit.buffer.numel()) * unit.buffer.element_size();
    if (allocate) {
      storage->set_data_ptr_noswap(storage->allocator()->allocate(nbytes));
      storage->set_nbytes(nbytes);
    } else {
      storage->set_data_ptr_noswap(at::DataPtr(nullptr, unit.buffer.device()));
      storage->set_nbytes(0);
    }
    unit.allocated = allocate;
  }

  void gather(size_t u) {
    at::NoGradGuard no_grad;
    Unit& unit = units_[u];
    if (unit.params.empty()) return;
    if (!unit.allocated) {
      set_storage(unit, true);
      at::Tensor local = at::empty({unit.local_numel}, unit.buffer.options());
      for (size_t k : unit.params) {
        local.narrow(0, params_[k].offset, params_[k].chunk).copy_(params_[k].shard);
      }
      at::Tensor rows = at::empty({world_, unit.local_numel}, local.options());
      all_gather_rows(*pg_, world_, rows, local);
      for (size_t k : unit.params) {
        const ShardedParam& sp = params_[k];
        copy_rows_to_flat(rows.narrow(1, sp.offset, sp.chunk),
                          unit.buffer.narrow(0, sp.base, sp.numel));
      }
    }
    if (!unit.in_use) {
      for (size_t k : unit.params) params_[k].param.set_data(params_[k].full);
      unit.in_use = true;
    }
  }

  void release(size_t u, bool free_storage) {
    Unit& unit = units_[u];
    if (unit.in_use) {
      for (size_t k : unit.params) params_[k].param.set_data(params_[k].shard);
      unit.in_use = false;
    }
    if (free_storage && unit.allocated) set_storage(unit, false);
  }

  // Averages the unit's full gradients over ranks; each parameter's .grad becomes its shard's.
  void reduce(size_t u) {
    at::NoGradGuard no_grad;
    Unit& unit = units_[u];
    unit.reduced = true;
    if (unit.params.empty() || unit.with_grad == 0) return;
    at::Tensor rows = at::zeros({world_, unit.local_numel}, unit.buffer.options());
    for (size_t k : unit.params) {
      ShardedParam& sp = params_[k];
      const at::Tensor& g = sp.param.grad();
      if (g.defined() && g.numel() == sp.numel) {
        copy_flat_to_rows(g.reshape(-1), rows.narrow(1, sp.offset, sp.chunk));
      }
    }
    at::Tensor mine = reduce_scatter_rows(*pg_, rank_, world_, rows, reduce_scatter_missing_);
    mine.div_(world_);
    for (size_t k : unit.params) {
      ShardedParam& sp = params_[k];
      if (!sp.param.requires_grad()) continue;
      at::Tensor g = mine.narrow(0, sp.offset, sp.chunk);
      // Own storage (not views of `mine`): zero_grad detaches gradients in place.
      g = sp.stashed_grad.defined() ? sp.stashed_grad.add_(g) : g.clone();
      sp.param.mutable_grad() = g;
      sp.stashed_grad = at::Tensor();
      sp.full_grad_pending = false;
    }
  }

  c10d::ProcessGroup* pg_;
  int rank_, world_;
  ShardingStrategy sharding_;
  std::vector<ShardedParam> params_;
  std::vector<Unit> units_;  // sub-units in policy order, the root last
  std::map<const void*, size_t> index_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  bool sync_ = true;
  bool finalize_queued_ = false;
  bool reduce_scatter_missing_ = false;

  friend class UnitHooks;
};

void UnitHooks::before_forward() {
  if (auto s = owner_.lock()) s->unit_before_forward(unit_);
}
void UnitHooks::after_forward(const std::vector<at::Tensor>& outputs) {
  if (auto s = owner_.lock()) s->unit_after_forward(unit_, outputs);
}
void UnitHooks::abort_forward() {
  if (auto s = owner_.lock()) s->unit_abort_forward(unit_);
}

}  // namespace

FSDPStrategy::FSDPStrategy(AcceleratorKind accelerator, std::vector<c10::Device> devices,
                           int num_nodes, ClusterEnvironment environment, FSDPOptions options)
    : DDPStrategy(accelerator, std::move(devices), num_nodes, std::move(environment),
                  DDPOptions{.process_group_backend = options.process_group_backend}),
      options_(std::move(options)),
      sharding_(parse_sharding_strategy(options_.sharding_strategy)) {
  if (options_.state_dict_type != "full" && options_.state_dict_type != "sharded") {
    throw ValueError("fsdp: state_dict_type='" + options_.state_dict_type +
                     "' is not one of full, sharded");
  }
}

std::shared_ptr<StrategyModuleState> FSDPStrategy::setup_module(ModuleRef& module) {
  if (sharding_ == ShardingStrategy::NoShard) return DDPStrategy::setup_module(module);
  if (!module.nn()) {
    throw NotSupportedError(
        "fsdp: TorchScript models cannot be sharded yet; use a C++ torch::nn::Module");
  }
  process_group();  // throws before launch
  broadcast_module_from_rank0(module);
  auto state =
      std::make_shared<FSDPModuleState>(&process_group(), global_rank(), world_size(), sharding_);
  state->build(module, options_.auto_wrap_policy);
  return state;
}

}  // namespace fabric
