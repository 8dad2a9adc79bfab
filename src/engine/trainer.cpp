#include "engine/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine/datasets.hpp"
#include "engine/loop_state.hpp"
#include "engine/models.hpp"
#include "engine/objectives.hpp"
#include "engine/optim.hpp"
#include "engine/step_profiler.hpp"
#include "fabric/data/sampler.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

namespace {

const toml::table& table_of(const toml::table& recipe, const std::string& key) {
  static const toml::table empty;
  const auto* t = recipe[key].as_table();
  return t ? *t : empty;
}

std::vector<Params> component_list(const toml::table& recipe, const std::string& key) {
  std::vector<Params> out;
  if (const auto* arr = recipe[key].as_array()) {
    for (size_t i = 0; i < arr->size(); ++i) {
      if (const auto* t = (*arr)[i].as_table())
        out.emplace_back(*t, key + "[" + std::to_string(i) + "]");
    }
  }
  return out;
}

/// Rank r's share of an evaluation split: every world-th sample, without the padding a
/// distributed sampler adds, so metrics summed over ranks count each sample exactly once.
data::TensorDataset shard(const data::TensorDataset& ds, int rank, int world) {
  if (world <= 1) return ds;
  auto idx = at::arange(rank, ds.data().size(0), world, at::kLong);
  return data::TensorDataset(ds.data().index_select(0, idx), ds.target().index_select(0, idx));
}

/// Under DDP, the steps between two agreements on whether a signal stops the run.
constexpr int64_t kAgreeEvery = 16;

at::Generator& cpu_generator() {
  static at::Generator gen = at::detail::getDefaultCPUGenerator();
  return gen;
}

}  // namespace

std::vector<std::shared_ptr<EngineCallback>> build_callbacks(const toml::table& resolved) {
  std::vector<std::shared_ptr<EngineCallback>> out;
  for (const auto& p : component_list(resolved, "callbacks")) out.push_back(build_callback(p));
  return out;
}

struct Trainer::Impl {
  Fabric& fabric;
  const toml::table& resolved;
  const toml::table& source;
  std::vector<std::shared_ptr<EngineCallback>> callbacks;
  std::string run_dir;
  Reporter& out;
  TrainerHooks hooks;
};

Trainer::Trainer(Fabric& fabric, const toml::table& resolved, const toml::table& source,
                 std::vector<std::shared_ptr<EngineCallback>> callbacks, std::string run_dir,
                 Reporter& reporter, TrainerHooks hooks)
    : impl_(new Impl{fabric, resolved, source, std::move(callbacks), std::move(run_dir), reporter,
                     std::move(hooks)}) {}

Trainer::~Trainer() = default;

FitResult Trainer::fit(const std::string& resume_from) {
  Impl& I = *impl_;
  Fabric& fabric = I.fabric;
  const auto started = std::chrono::steady_clock::now();
  const Params run(table_of(I.resolved, "run"), "run");

  // ---- components ---------------------------------------------------------------------------
  const Params data_params(table_of(I.resolved, "data"), "data");
  DataSplits splits = load_data(data_params);
  if (keep_on_device(splits, data_params.text("on_device"), fabric.device())) {
    I.out.line("data: kept on " + fabric.device().str() + ", batches gathered there");
  }
  toml::table loss_table = table_of(I.resolved, "loss");
  if (!loss_table.contains("kind")) loss_table.insert("kind", "cross_entropy");
  const Params loss_params(loss_table, "loss");
  const LossFn loss_fn = build_loss(loss_params, splits.info);
  MetricSet metrics(component_list(I.resolved, "metrics"), loss_fn, splits.info);
  const int64_t outputs = model_outputs(splits.info, loss_params.kind());

  Net net = fabric.init_module([&] {
    return build_model(Params(table_of(I.resolved, "model"), "model"), table_of(I.source, "model"),
                       splits.info, outputs);
  });
  if (wants_channels_last(run.text("memory_format"), *net, splits.info)) to_channels_last(*net);
  auto opt = build_optimizer(Params(table_of(I.resolved, "optimizer"), "optimizer"), *net);
  auto [model, optimizer] = fabric.setup(net, opt);

  const int rank = fabric.global_rank(), world = fabric.world_size();
  DataLoader train_loader(
      splits.train,
      {.batch_size = splits.batch_size, .shuffle = true, .workers = size_t(splits.workers)});
  auto train = fabric.setup_dataloaders(train_loader);
  // The user's loaders stay alive while set up: Fabric tells loaders apart by identity.
  std::optional<DataLoader<data::TensorDataset>> val_source, test_source, val, test;
  auto eval_loader = [&](const data::TensorDataset& ds, auto& source) {
    source.emplace(shard(ds, rank, world), DataLoaderOptions{.batch_size = splits.val_batch_size});
    return fabric.setup_dataloaders({.use_distributed_sampler = false}, *source);
  };
  if (splits.val) val = eval_loader(*splits.val, val_source);
  if (splits.test) test = eval_loader(*splits.test, test_source);

  // ---- length and schedule --------------------------------------------------------------------
  const int64_t accumulate = run.integer("accumulate_grad_batches");
  const int64_t batches_per_epoch = int64_t(train.size());
  const int64_t steps_per_epoch = (batches_per_epoch + accumulate - 1) / accumulate;
  auto max_steps = run.optional_integer("max_steps");
  auto max_epochs = run.optional_integer("max_epochs");
  if (!max_epochs) {
    // Validation requires max_epochs or max_steps; with max_steps only, as many epochs as it takes.
    max_epochs = (max_steps.value() + steps_per_epoch - 1) / std::max<int64_t>(1, steps_per_epoch);
  }
  const int64_t total_steps =
      std::min(max_steps.value_or(INT64_MAX), *max_epochs * steps_per_epoch);
  Schedule schedule;
  if (I.resolved.contains("scheduler")) {
    schedule =
        Schedule(Params(table_of(I.resolved, "scheduler"), "scheduler"), total_steps, *max_epochs);
  }
  schedule.bind(optimizer.optimizer());

  // ---- loop state and what a checkpoint holds -----------------------------------------------
  LoopState loop;
  loop.total_steps = total_steps;
  loop.world_size = world;
  loop.is_global_zero = fabric.is_global_zero();
  loop.checkpoint_dir = I.run_dir + "/checkpoints";
  if (splits.info.task == "language_model") loop.tokens_per_sample = splits.info.input_shape[0];
  int64_t epoch = 0, batch_in_epoch = 0;
  double loss_sum = 0, loss_count = 0;
  at::Tensor pending_loss;  // this epoch's losses not yet read back, summed on the device
  auto add_loss = [&](const at::Tensor& loss) {
    if (pending_loss.defined()) {
      pending_loss.add_(loss);
    } else {
      pending_loss = loss.to(at::kDouble, /*non_blocking=*/false, /*copy=*/true);
    }
    loss_count += 1;
  };
  auto settle_losses = [&] {
    if (!pending_loss.defined()) return;
    loss_sum += pending_loss.item<double>();
    pending_loss = at::Tensor();
  };
  at::Tensor rng_epoch_start;  // generator state when the current epoch began (its shuffle)
  // Saved values: a checkpoint written at an epoch's end resumes at the start of the next one.
  int64_t saved_epoch = 0, saved_batch = 0, saved_step = 0;
  double saved_loss_sum = 0, saved_loss_count = 0;
  at::Tensor saved_rng, saved_rng_epoch;
  std::string callback_state;
  bool at_epoch_end = false;
  State state{{"model", model},
              {"optimizer", optimizer},
              {"loop", State{{"epoch", fabric::ref(saved_epoch)},
                             {"batch_in_epoch", fabric::ref(saved_batch)},
                             {"global_step", fabric::ref(saved_step)},
                             {"train_loss_sum", fabric::ref(saved_loss_sum)},
                             {"train_loss_count", fabric::ref(saved_loss_count)},
                             {"rng", fabric::ref(saved_rng)},
                             {"rng_epoch_start", fabric::ref(saved_rng_epoch)},
                             {"callbacks", fabric::ref(callback_state)}}}};
  if (auto* scaler = fabric.precision().scaler()) state.set("scaler", *scaler);

  auto encode_callbacks = [&] {
    std::string s;
    for (size_t i = 0; i < I.callbacks.size(); ++i) {
      auto text = I.callbacks[i]->state();
      s += std::to_string(i) + " " + std::to_string(text.size()) + "\n" + text;
    }
    return s;
  };
  auto decode_callbacks = [&](const std::string& s) {
    size_t pos = 0;
    while (pos < s.size()) {
      auto nl = s.find('\n', pos);
      if (nl == std::string::npos) break;
      size_t index = 0, length = 0;
      std::sscanf(s.substr(pos, nl - pos).c_str(), "%zu %zu", &index, &length);
      if (index < I.callbacks.size()) I.callbacks[index]->load_state(s.substr(nl + 1, length));
      pos = nl + 1 + length;
    }
  };

  std::string last_checkpoint;
  loop.save_checkpoint = [&](const std::string& path) {
    saved_epoch = at_epoch_end ? epoch + 1 : epoch;
    saved_batch = at_epoch_end ? 0 : batch_in_epoch;
    saved_step = loop.global_step;
    settle_losses();
    saved_loss_sum = at_epoch_end ? 0 : loss_sum;
    saved_loss_count = at_epoch_end ? 0 : loss_count;
    saved_rng = cpu_generator().get_state();
    saved_rng_epoch = at_epoch_end ? saved_rng : rng_epoch_start;
    callback_state = encode_callbacks();
    if (fabric.is_global_zero()) I.hooks.before_checkpoint();
    fs::create_directories(fs::path(path).parent_path());
    fabric.save(path, state);
    last_checkpoint = path;
    if (fabric.is_global_zero()) I.hooks.checkpoint_written(path);
  };
  loop.remove_checkpoint = [&](const std::string& path) {
    if (fabric.is_global_zero()) {
      fs::remove(path);
      I.hooks.checkpoint_removed(path);
    }
  };
  loop.log = [&](const std::map<std::string, double>& values) {
    for (const auto& [k, v] : values) loop.metrics[k] = v;
    if (!fabric.is_global_zero()) return;
    std::map<std::string, MetricValue> as_metrics(values.begin(), values.end());
    fabric.log_dict(as_metrics, loop.global_step);
    if (I.hooks.metrics) I.hooks.metrics(values, loop.global_step, epoch);
  };
  const HookArgs hook_args{{"loop", &loop}, {"fabric", &fabric}};
  auto call = [&](const std::string& hook) { fabric.call(hook, hook_args); };

  if (!resume_from.empty()) {
    fabric.load(resume_from, state);
    epoch = saved_epoch;
    batch_in_epoch = saved_batch;
    loop.global_step = saved_step;
    loss_sum = saved_loss_sum;
    loss_count = saved_loss_count;
    decode_callbacks(callback_state);
    I.out.line("resumed from " + resume_from + " at epoch " + std::to_string(epoch) + ", batch " +
               std::to_string(batch_in_epoch) + ", step " + std::to_string(loop.global_step));
  }

  // ---- evaluation ---------------------------------------------------------------------------
  auto evaluate = [&](DataLoader<data::TensorDataset>& loader, const std::string& prefix) {
    model.eval();
    torch::NoGradGuard no_grad;
    metrics.reset();
    for (auto& batch : loader) metrics.update(model(batch.data), batch.target);
    auto sums = metrics.sums().to(fabric.device());
    if (world > 1) sums = fabric.all_reduce(sums, ReduceOp::Sum);
    auto values = metrics.values(sums, prefix);
    loop.log(values);
    model.train();
    return values;
  };
  auto validate = [&] {
    if (!val) return;
    call("on_validation_start");
    auto values = evaluate(*val, "val");
    std::string text =
        "epoch " + std::to_string(epoch) + " step " + std::to_string(loop.global_step);
    for (const auto& [k, v] : values) text += "  " + k + " " + std::to_string(v);
    I.out.line(text);
    call("on_validation_end");
  };

  // ---- training -----------------------------------------------------------------------------
  const double clip = run.number("gradient_clip_val");
  const bool clip_by_value = run.text("gradient_clip_algorithm") == "value";
  const int64_t log_every = run.integer("log_every_n_steps");
  const int64_t val_every_epochs = run.integer("val_every_n_epochs");
  const int64_t val_every_steps = run.integer("val_every_n_steps");
  FitResult result;
  I.out.start(total_steps, loop.global_step);
  call("on_train_start");
  StepProfiler profiler(fabric.is_global_zero() ? run.integer("profile_step") : 0, fabric.device(),
                        I.run_dir + "/profile.json");
  const auto loop_started = std::chrono::steady_clock::now();
  bool stop = loop.global_step >= total_steps;
  bool resuming = !resume_from.empty();

  for (; epoch < *max_epochs && !stop; ++epoch) {
    loop.epoch = epoch;
    at_epoch_end = false;
    // The epoch's shuffle is drawn from the generator when the epoch starts; a run resumed
    // inside the epoch replays that draw, then continues from the generator state it saved. One
    // resumed at an epoch's start (a checkpoint written at the previous epoch's end) draws the
    // shuffle as an uninterrupted run does and goes on from there: rewinding the generator to
    // before the draw would make the next epoch repeat this one's shuffle.
    const bool resume_inside_epoch = resuming && batch_in_epoch > 0;
    if (resuming) cpu_generator().set_state(saved_rng_epoch);
    rng_epoch_start = cpu_generator().get_state();
    auto pass = train.start_epoch(epoch, size_t(batch_in_epoch));
    if (resume_inside_epoch) cpu_generator().set_state(saved_rng);
    resuming = false;
    if (batch_in_epoch == 0) {
      loss_sum = 0;
      loss_count = 0;
      pending_loss = at::Tensor();
    }
    model.train();
    call("on_train_epoch_start");
    const int64_t num_batches = int64_t(pass->num_batches());
    for (;;) {
      if (batch_in_epoch % accumulate == 0) profiler.maybe_begin(loop.global_step + 1);
      auto batch = pass->next();
      if (!batch) break;
      const int64_t b = batch_in_epoch;
      const bool boundary = (b + 1) % accumulate == 0 || b + 1 == num_batches;
      // The last window of an epoch may be short; its losses are averaged over its own size.
      const int64_t window =
          boundary && (b + 1) % accumulate != 0 ? (b % accumulate) + 1 : accumulate;
      at::Tensor loss;
      {
        auto guard = fabric.no_backward_sync(model, !boundary);
        at::Tensor x = batch->data;
        if (splits.augment.any()) {
          auto gen = at::make_generator<at::CPUGeneratorImpl>(
              data::detail::batch_seed(global_seed(), rank, epoch, b));
          x = augment_batch(x, splits.augment, gen);
        }
        loss = loss_fn(model(x), batch->target);
        fabric.backward(accumulate > 1 ? loss / double(window) : loss);
      }
      // The loss stays on the device: reading it back every step would make the host wait for
      // the accelerator each step instead of queueing the next one.
      add_loss(loss.detach());
      ++batch_in_epoch;
      loop.batch_in_epoch = batch_in_epoch;
      loop.samples_seen += batch->target.size(0) * world;
      if (!boundary) continue;

      if (clip > 0) {
        ClipOptions clip_options;
        (clip_by_value ? clip_options.clip_val : clip_options.max_norm) = clip;
        fabric.clip_gradients(model, optimizer, clip_options);
      }
      schedule.apply(optimizer.optimizer(), loop.global_step, epoch);
      optimizer.step();
      optimizer.zero_grad();
      ++loop.global_step;
      if (auto profile = profiler.maybe_end(loop.global_step)) I.out.line(profile->table());
      loop.learning_rates.clear();
      for (auto& g : optimizer.param_groups()) loop.learning_rates.push_back(group_lr(g));

      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_started).count();
      const double samples_per_sec = elapsed > 0 ? double(loop.samples_seen) / elapsed : 0.0;
      const bool log_now = loop.global_step % log_every == 0;
      // Decided once: the progress line must not come due later in this step without its loss.
      const bool print_now = I.out.due(loop.global_step);
      const double loss_value = log_now || print_now ? loss.detach().item<double>() : NAN;
      call("on_train_batch_end");
      if (log_now) {
        loop.log({{"train/loss", loss_value}, {"epoch", double(epoch)}});
        call("on_log");
      }
      if (print_now) I.out.step(loop.global_step, epoch, loss_value, samples_per_sec);
      if (val_every_steps > 0 && loop.global_step % val_every_steps == 0) {
        validate();
        // Early stopping and pruning decide at a validation and stop there (as Lightning's
        // should_stop ends the epoch loop after the current batch).
        if (loop.should_stop) break;
      }
      if (loop.global_step >= total_steps) {
        stop = true;
        if (max_steps && *max_steps == total_steps) {
          result.stop_reason = "reached max_steps (" + std::to_string(total_steps) + ")";
        }
        break;
      }
      // Every rank stops at the same step: the signal reaches rank 0 (the launcher's process
      // group) first, and one small all-reduce spreads it. Ranks agree every kAgreeEvery steps:
      // on loopback Gloo that collective costs as much as a small model's step.
      int signal = 0;
      if (world == 1) {
        signal = I.hooks.interrupted();
      } else if (loop.global_step % kAgreeEvery == 0) {
        auto flag = at::tensor({int64_t(I.hooks.interrupted())}, at::kLong).to(fabric.device());
        signal = int(fabric.all_reduce(flag, ReduceOp::Max).item<int64_t>());
      }
      if (signal != 0) {
        I.out.end_progress();
        loop.save_checkpoint(loop.checkpoint_dir + "/last.ckpt");
        result.signal = signal;
        result.last_checkpoint = last_checkpoint;
        result.global_step = loop.global_step;
        result.epochs = epoch;
        result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result;
      }
    }
    at_epoch_end = true;
    // The epoch's mean training loss over every rank's batches.
    settle_losses();
    auto sums = at::tensor({loss_sum, loss_count}, at::kDouble).to(fabric.device());
    if (world > 1) sums = fabric.all_reduce(sums, ReduceOp::Sum);
    auto s = sums.cpu();
    if (s[1].item<double>() > 0)
      loop.log({{"train/loss_epoch", s[0].item<double>() / s[1].item<double>()}});
    if (val_every_steps == 0 && (epoch + 1) % val_every_epochs == 0) validate();
    call("on_train_epoch_end");
    loop.save_checkpoint(loop.checkpoint_dir + "/last.ckpt");
    batch_in_epoch = 0;
    if (loop.should_stop) {
      stop = true;
      result.stop_reason = loop.stop_reason;
    }
  }
  I.out.end_progress();
  result.pruned = loop.pruned;
  if (test && !loop.pruned) {
    auto values = evaluate(*test, "test");
    std::string text = "test";
    for (const auto& [k, v] : values) text += "  " + k + " " + std::to_string(v);
    I.out.line(text);
  }
  call("on_train_end");
  result.last_checkpoint = last_checkpoint;
  result.global_step = loop.global_step;
  result.epochs = epoch;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace fabric::engine
