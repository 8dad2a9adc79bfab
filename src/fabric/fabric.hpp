// fabric::Fabric — Lightning Fabric's API in C++, method by method.
//
//   fabric::Fabric fabric({.accelerator = "cpu", .precision = "bf16-mixed"});
//   fabric.launch();
//   auto [model, optimizer] = fabric.setup(net, sgd);
//   auto loader = fabric.setup_dataloaders(train_loader);
//   for (auto& batch : loader) {
//     auto loss = torch::nn::functional::cross_entropy(model(batch.data), batch.target);
//     fabric.backward(loss);
//     fabric.clip_gradients(model, optimizer, {.max_norm = 2.0});
//     optimizer.step();
//     optimizer.zero_grad();
//   }
//   fabric.save("ckpt.pt", {{"model", model}, {"optimizer", optimizer}, {"iteration", 42}});
#pragma once

#include <ATen/ATen.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/callbacks/callback.hpp"
#include "fabric/checkpoint/state.hpp"
#include "fabric/data/data_loader.hpp"
#include "fabric/data/tensor_dataset.hpp"
#include "fabric/loggers/logger.hpp"
#include "fabric/options.hpp"
#include "fabric/precision/precision.hpp"
#include "fabric/strategies/strategy.hpp"
#include "fabric/utilities/apply.hpp"
#include "fabric/utilities/seed.hpp"
#include "fabric/wrappers/fabric_module.hpp"
#include "fabric/wrappers/fabric_optimizer.hpp"

namespace fabric {

struct SetupOptions {
  /// Move the model to fabric.device() (false: leave it where it is).
  bool move_to_device = true;
};

struct DataLoaderSetupOptions {
  /// Replace the sampler by a distributed one under DDP.
  bool use_distributed_sampler = true;
  /// Move every batch to fabric.device().
  bool move_to_device = true;
};

struct ClipOptions {
  /// Clip each gradient element to [-clip_val, clip_val]. Exactly one of clip_val / max_norm.
  std::optional<double> clip_val{};
  /// Rescale gradients so that their total norm is at most max_norm.
  std::optional<double> max_norm{};
  /// The p of the norm; std::numeric_limits<double>::infinity() for the max norm.
  double norm_type = 2.0;
  /// Throw when the total norm is inf/NaN (Lightning's default; torch's is false).
  bool error_if_nonfinite = true;
};

/// A metric for log / log_dict: a number, or a tensor with exactly one element.
using MetricValue = std::variant<double, at::Tensor>;

/// RAII result of no_backward_sync: restores gradient synchronisation when it goes out of scope.
class [[nodiscard]] BackwardSyncGuard {
 public:
  BackwardSyncGuard() = default;
  BackwardSyncGuard(std::shared_ptr<StrategyModuleState> state, bool enabled);
  ~BackwardSyncGuard();
  BackwardSyncGuard(BackwardSyncGuard&& other) noexcept;
  BackwardSyncGuard(const BackwardSyncGuard&) = delete;
  BackwardSyncGuard& operator=(const BackwardSyncGuard&) = delete;
  BackwardSyncGuard& operator=(BackwardSyncGuard&&) = delete;

 private:
  std::shared_ptr<StrategyModuleState> state_;
  bool previous_ = true;
};

class Fabric {
 public:
  explicit Fabric(FabricOptions options = {});
  ~Fabric();
  Fabric(const Fabric&) = delete;
  Fabric& operator=(const Fabric&) = delete;

  // ---- properties -------------------------------------------------------------------------
  c10::Device device() const;
  int global_rank() const { return strategy_->global_rank(); }
  int local_rank() const { return strategy_->local_rank(); }
  int node_rank() const { return strategy_->node_rank(); }
  int world_size() const { return strategy_->world_size(); }
  bool is_global_zero() const { return global_rank() == 0; }
  AcceleratorKind accelerator() const { return accelerator_; }
  Strategy& strategy() const { return *strategy_; }
  /// The resolved strategy name ("single_device", "ddp", ...).
  const std::string& strategy_name() const { return strategy_name_; }
  const Precision& precision() const { return *precision_; }
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }
  /// The first logger; throws when there is none.
  Logger& logger() const;
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }
  bool launched() const { return launched_; }

  // ---- launch -----------------------------------------------------------------------------
  /// Prepares this process (device, process group). Single device: marks Fabric as launched.
  void launch();
  /// launch(), then fn(*this); returns what fn returns.
  template <class F>
  decltype(auto) launch(F&& fn) {
    static_assert(std::is_invocable_v<F, Fabric&>,
                  "launch(fn): fn must take the Fabric object as its first argument");
    launch();
    return std::forward<F>(fn)(*this);
  }

  // ---- setup ------------------------------------------------------------------------------
  /// setup(model) -> FabricModule; setup(model, opt...) -> tuple(FabricModule, FabricOptimizer...).
  /// A learning-rate scheduler among the arguments comes back as it is, at its place in the tuple:
  /// every strategy keeps the optimizer object it was built on (fsdp shards its parameters in
  /// place), so scheduler.step() keeps setting the learning rate the step uses.
  template <class M, class... Opts>
  auto setup(M module, Opts&&... optimizers) {
    return setup(SetupOptions{}, std::move(module), std::forward<Opts>(optimizers)...);
  }
  template <class M, class... Opts>
  auto setup(SetupOptions options, M module, Opts&&... optimizers) {
    static_assert(detail::is_module_like_v<M>, "setup: the first argument must be a model");
    FabricModule<M> wrapped = setup_module(std::move(module), options);
    call("on_after_setup", HookArgs{{"fabric", this}, {"module", wrapped.module_ref()}});
    if constexpr (sizeof...(Opts) == 0) {
      return wrapped;
    } else {
      static_assert((!detail::is_scheduler_v<Opts> || ...),
                    "setup: a scheduler comes with the optimizer it schedules");
      // Braced: optimizers are set up in argument order. Schedulers passed by reference stay
      // references.
      using Rest = std::tuple<decltype(setup_argument(std::forward<Opts>(optimizers)))...>;
      return std::tuple_cat(std::make_tuple(wrapped),
                            Rest{setup_argument(std::forward<Opts>(optimizers))...});
    }
  }
  template <class M>
  FabricModule<M> setup_module(M module, SetupOptions options = {}) {
    static_assert(detail::is_module_like_v<M>, "setup_module: expected a model");
    ModuleRef ref = detail::make_module_ref(module);
    return FabricModule<M>(std::move(module), setup_module_ref(ref, options));
  }
  /// One optimizer -> FabricOptimizer; several -> tuple.
  template <class... Opts>
  auto setup_optimizers(Opts&&... optimizers) {
    static_assert(sizeof...(Opts) > 0,
                  "`setup_optimizers` requires at least one optimizer as input.");
    if constexpr (sizeof...(Opts) == 1) {
      return setup_one_optimizer(std::forward<Opts>(optimizers)...);
    } else {
      return std::make_tuple(setup_one_optimizer(std::forward<Opts>(optimizers))...);
    }
  }
  /// One loader -> loader; several -> tuple. Batches move to the device; under DDP the sampler
  /// becomes distributed.
  template <class... Datasets>
  auto setup_dataloaders(DataLoader<Datasets>&... loaders) {
    return setup_dataloaders(DataLoaderSetupOptions{}, loaders...);
  }
  template <class... Datasets>
  auto setup_dataloaders(DataLoaderSetupOptions options, DataLoader<Datasets>&... loaders) {
    static_assert(sizeof...(Datasets) > 0, "setup_dataloaders requires at least one dataloader");
    if constexpr (sizeof...(Datasets) == 1) {
      return setup_one_loader(options, loaders...);
    } else {
      return std::make_tuple(setup_one_loader(options, loaders)...);
    }
  }

  // ---- training ---------------------------------------------------------------------------
  /// Replaces loss.backward(): precision-aware (loss scaling) and strategy-aware.
  void backward(const at::Tensor& loss, bool retain_graph = false);
  /// Clips by value or norm after unscaling; returns the total norm before clipping (max_norm).
  template <class M>
  std::optional<double> clip_gradients(FabricModule<M>& module, FabricOptimizer& optimizer,
                                       ClipOptions options) {
    return clip_gradients_impl(optimizer.optimizer(), options);
  }
  /// The precision's autocast / dtype context for code outside the model's forward.
  [[nodiscard]] ForwardContext autocast() const { return precision_->forward_context(); }
  /// Skips gradient synchronisation in backward while `enabled` (gradient accumulation).
  template <class M>
  BackwardSyncGuard no_backward_sync(FabricModule<M>& module, bool enabled = true) {
    return no_backward_sync_impl(module.setup_state(), enabled);
  }
  /// Builds a model with the precision's default dtype and returns it on fabric.device().
  /// C++ modules initialise their parameters in the constructor, so `empty_init` cannot skip
  /// that work: it is accepted and has no effect.
  template <class F>
  auto init_module(F&& factory, std::optional<bool> empty_init = std::nullopt) {
    validate_launched("init_module");
    auto module = [&] {
      std::optional<DefaultDtypeGuard> dtype;
      if (auto d = precision_->module_dtype()) dtype.emplace(*d);
      return factory();
    }();
    detail::make_module_ref(module).to(device());
    return module;
  }
  /// Moves a model (in place) or the tensors of any collection to fabric.device().
  template <class T>
  T to_device(const T& obj) {
    if constexpr (detail::is_module_like_v<T>) {
      T copy = obj;
      detail::make_module_ref(copy).to(device());
      return copy;
    } else {
      return move_data_to_device(obj, device());
    }
  }

  // ---- reproducibility --------------------------------------------------------------------
  /// Fabric's seed_everything defaults workers to true.
  static uint32_t seed_everything(std::optional<int64_t> seed = std::nullopt, bool workers = true,
                                  bool verbose = true) {
    return fabric::seed_everything(seed, workers, verbose);
  }

  // ---- output -----------------------------------------------------------------------------
  /// Prints the arguments, space-separated, on local rank 0 only.
  template <class... Args>
  void print(const Args&... args) {
    if (local_rank() != 0) return;
    std::ostringstream os;
    int i = 0;
    ((os << (i++ ? " " : "") << args), ...);
    std::cout << os.str() << std::endl;
  }

  // ---- checkpoints ------------------------------------------------------------------------
  /// Writes the state (models and optimizers as their state dicts) on global rank 0, then
  /// waits for all ranks. The file is a torch.save archive of a dict.
  void save(const std::string& path, const State& state, const SaveFilter& filter = {});
  /// Restores `state` in place and returns the checkpoint entries it did not consume.
  State load(const std::string& path, State& state, bool strict = true);
  /// The whole checkpoint as plain values.
  State load(const std::string& path);
  /// Loads a bare state dict (Python torch.save({name: tensor}), ours, or LibTorch's
  /// torch::save archive) into a model or an optimizer.
  template <class T>
  void load_raw(const std::string& path, T& obj, bool strict = true) {
    if constexpr (std::is_base_of_v<torch::optim::Optimizer, T>) {
      load_raw_optimizer(path, obj);
    } else if constexpr (std::is_same_v<T, FabricOptimizer>) {
      load_raw_optimizer(path, obj.optimizer());
    } else {
      static_assert(detail::is_module_like_v<T>, "load_raw takes a model or an optimizer");
      load_raw_module(path, detail::make_module_ref(obj), strict);
    }
  }

  // ---- collectives ------------------------------------------------------------------------
  void barrier(const std::string& name = "");
  /// Rank `src`'s value on every rank. Tensors, numbers, strings and collections of tensors.
  template <class T>
  T broadcast(const T& value, int src = 0) {
    validate_launched("broadcast");
    if (!strategy_->is_distributed()) return value;
    if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string> ||
                  std::is_same_v<T, c10::IValue>) {
      return broadcast_ivalue(c10::IValue(value), src).template to<T>();
    } else {
      return apply_to_tensors(value, [&](const at::Tensor& t) {
        at::Tensor out = t.contiguous().clone();
        strategy_->broadcast_(out, src);
        return out;
      });
    }
  }
  /// Every rank's tensors stacked into (world_size, ...); unchanged on one process.
  template <class T>
  T all_gather(const T& data) {
    validate_launched("all_gather");
    if (!strategy_->is_distributed()) return data;
    return apply_to_tensors(
        data, [&](const at::Tensor& t) { return strategy_->all_gather(t.contiguous()); });
  }
  /// Reduces tensors (and numbers) across ranks; default op is mean, as Lightning's.
  template <class T>
  T all_reduce(const T& data, ReduceOp op = ReduceOp::Mean) {
    validate_launched("all_reduce");
    if (!strategy_->is_distributed()) return data;
    if constexpr (std::is_arithmetic_v<T>) {
      at::Tensor t =
          at::scalar_tensor(double(data), at::TensorOptions().dtype(at::kDouble).device(device()));
      strategy_->all_reduce_(t, op);
      return static_cast<T>(t.item<double>());
    } else {
      return apply_to_tensors(data, [&](const at::Tensor& t) {
        at::Tensor out = t.contiguous();
        strategy_->all_reduce_(out, op);
        return out;
      });
    }
  }
  template <class T>
  T all_reduce(const T& data, const std::string& op) {
    return all_reduce(data, parse_reduce_op(op));
  }

  // ---- callbacks and loggers --------------------------------------------------------------
  /// Runs hook `name` on every callback that has it, in registration order.
  void call(const std::string& name, const HookArgs& args = {});
  void log(const std::string& name, const MetricValue& value,
           std::optional<int64_t> step = std::nullopt);
  void log_dict(const std::map<std::string, MetricValue>& metrics,
                std::optional<int64_t> step = std::nullopt);

 private:
  std::shared_ptr<detail::ModuleSetup> setup_module_ref(ModuleRef ref, const SetupOptions& options);
  FabricOptimizer setup_optimizer_ptr(std::shared_ptr<torch::optim::Optimizer> optimizer);
  template <class O>
  FabricOptimizer setup_one_optimizer(O&& optimizer) {
    return setup_optimizer_ptr(detail::optimizer_ptr(std::forward<O>(optimizer)));
  }
  // An optimizer becomes a FabricOptimizer; a scheduler passes through (by reference).
  template <class A>
  decltype(auto) setup_argument(A&& argument) {
    if constexpr (detail::is_scheduler_v<A> && std::is_lvalue_reference_v<A>) {
      return std::forward<A>(argument);
    } else if constexpr (detail::is_scheduler_v<A>) {
      return std::decay_t<A>(std::move(argument));
    } else {
      return setup_one_optimizer(std::forward<A>(argument));
    }
  }
  template <class D>
  DataLoader<D> setup_one_loader(const DataLoaderSetupOptions& options, DataLoader<D>& loader) {
    validate_launched("setup_dataloaders");
    register_loader(loader.origin());
    data::SamplerSpec spec = loader.sampler();
    if (options.use_distributed_sampler) {
      if (auto args = strategy_->distributed_sampler_args()) {
        spec.distributed = true;
        spec.num_replicas = args->num_replicas;
        spec.rank = args->rank;
        spec.seed = global_seed();
      }
    }
    std::optional<c10::Device> target;
    if (options.move_to_device) target = device();
    return loader.configured(spec, target);
  }
  void register_loader(const void* origin);
  std::optional<double> clip_gradients_impl(torch::optim::Optimizer& optimizer,
                                            const ClipOptions& options);
  BackwardSyncGuard no_backward_sync_impl(detail::ModuleSetup& module, bool enabled);
  void load_raw_module(const std::string& path, const ModuleRef& module, bool strict);
  void load_raw_optimizer(const std::string& path, torch::optim::Optimizer& optimizer);
  c10::IValue broadcast_ivalue(const c10::IValue& value, int src);
  void validate_launched(const char* method) const;
  /// The models whose parameters a sharding strategy keeps sharded (alive ones).
  std::vector<std::shared_ptr<StrategyModuleState>> sharded_models() const;
  /// clip_gradients by norm over gradients some of which are shards: the norm over all ranks.
  double clip_sharded_norm_(const std::vector<at::Tensor>& params, const ClipOptions& options,
                            const std::vector<std::shared_ptr<StrategyModuleState>>& sharded);
  c10::impl::GenericDict checkpoint_dict(const State& state, const SaveFilter& filter) const;
  /// Restores `state` from a read checkpoint; `full`: its tensors are unsharded (sharded models
  /// gather, load, and keep their shard).
  State restore_checkpoint(const c10::impl::GenericDict& dict, State& state, bool strict,
                           bool full);

  AcceleratorKind accelerator_;
  std::string strategy_name_;
  std::unique_ptr<Strategy> strategy_;
  std::shared_ptr<const Precision> precision_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  std::vector<std::shared_ptr<Logger>> loggers_;
  bool launched_ = false;
  int models_setup_ = 0;
  std::set<const void*> setup_models_, setup_optimizers_, setup_loaders_;
  std::vector<std::weak_ptr<StrategyModuleState>> module_states_;
};

}  // namespace fabric
