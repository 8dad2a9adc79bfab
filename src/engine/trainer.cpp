#include "engine/trainer.hpp"
#include "engine/trainer_impl.hpp"
#include "store/run_store.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine/data.hpp"
#include "engine/loop_state.hpp"
#include "engine/loss.hpp"
#include "engine/metrics.hpp"
#include "engine/model.hpp"
#include "engine/optimizer.hpp"
#include "engine/scheduler.hpp"
#include "engine/step_profiler.hpp"
#include "engine/system_metrics.hpp"
#include "exp/components/run/run.hpp"
#include "fabric/data/sampler.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

namespace {

const toml::table& table_of(const toml::table& recipe, const std::string& key) {
  static const toml::table empty;
  const auto* t = recipe[key].as_table();
  return t ? *t : empty;
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

}  // namespace

std::vector<std::shared_ptr<EngineCallback>> build_callbacks(const toml::table& resolved) {
  return build_each<CallbackFamily>(resolved, [](const std::string&) { return NoContext{}; });
}

Trainer::Trainer(Fabric& fabric, const toml::table& resolved, const toml::table& source,
                 std::vector<std::shared_ptr<EngineCallback>> callbacks, std::string run_dir,
                 Reporter& reporter, TrainerHooks hooks)
    : impl_(new Impl{fabric, resolved, source, std::move(callbacks), std::move(run_dir), reporter,
                     std::move(hooks)}) {}

Trainer::~Trainer() = default;

/// Data, loss, metrics, model, optimizer and loaders, each from its factory, set up by Fabric.
void Trainer::Impl::build() {
  const ComponentFactories& factories = component_factories();
  run = exp::run_spec().parse(table_of(resolved, "run"));
  splits = factories.build<DataFamily>(table_of(resolved, "data"), NoContext{});
  if (keep_on_device(splits, splits.on_device, fabric.device())) {
    out.line("data: kept on " + fabric.device().str() + ", batches gathered there");
  }
  loss =
      factories.build<LossFamily>(table_of(resolved, "loss"), splits.info, "loss", "cross_entropy");
  metrics = std::make_unique<MetricSet>(
      build_each<MetricFamily>(resolved,
                               [&](const std::string& where) {
                                 return MetricContext{splits.info, where};
                               }),
      loss.fn);
  const ModelInputs inputs{splits.info, model_outputs(splits.info, loss.binary_logit)};
  // The [model] table as written: its nodes keep the positions that layer errors cite.
  Net net = fabric.init_module(
      [&] { return factories.build<ModelFamily>(table_of(source, "model"), inputs); });
  if (wants_channels_last(run.memory_format, *net, splits.info)) to_channels_last(*net);
  auto opt = factories.build<OptimizerFamily>(table_of(resolved, "optimizer"), *net);
  hooks.model_built(*net);
  auto [m, o] = fabric.setup(net, opt);
  model.emplace(std::move(m));
  optimizer.emplace(std::move(o));

  rank = fabric.global_rank();
  world = fabric.world_size();
  train_source.emplace(splits.train, DataLoaderOptions{.batch_size = splits.batch_size,
                                                       .shuffle = true,
                                                       .workers = size_t(splits.workers)});
  train.emplace(fabric.setup_dataloaders(*train_source));
  // The user's loaders stay alive while set up: Fabric tells loaders apart by identity.
  auto eval_loader = [&](const data::TensorDataset& ds, std::optional<Loader>& source_loader,
                         std::optional<Loader>& loader) {
    source_loader.emplace(shard(ds, rank, world),
                          DataLoaderOptions{.batch_size = splits.val_batch_size});
    loader.emplace(fabric.setup_dataloaders({.use_distributed_sampler = false}, *source_loader));
  };
  if (splits.val) eval_loader(*splits.val, val_source, val);
  if (splits.test) eval_loader(*splits.test, test_source, test);
}

/// Steps per epoch, epochs and total steps; the schedule over them.
void Trainer::Impl::bind_log() {
  // Every metric takes one road: fabric.log_dict, to every logger of the run (the run store's
  // included). As Lightning's trainer does, each dict carries the epoch it was logged in, but a
  // dict of machine measurements (sys/, throughput/), which is logged when the clock says: an
  // epoch point there would differ between two runs of the same seed.
  loop.log = [this](const std::map<std::string, double>& values) {
    for (const auto& [k, v] : values) loop.metrics[k] = v;
    if (!fabric.is_global_zero()) return;
    std::map<std::string, MetricValue> as_metrics(values.begin(), values.end());
    const bool measured = std::all_of(values.begin(), values.end(), [](const auto& item) {
      return store::is_wall_clock_metric(item.first);
    });
    if (!measured) as_metrics.emplace("epoch", double(epoch));
    fabric.log_dict(as_metrics, loop.global_step);
  };
}

void Trainer::Impl::plan_length() {
  accumulate = run.accumulate_grad_batches;
  const int64_t batches_per_epoch = int64_t(train->size());
  const int64_t steps_per_epoch = (batches_per_epoch + accumulate - 1) / accumulate;
  if (run.max_epochs) {
    max_epochs = *run.max_epochs;
  } else {
    // Validation requires max_epochs or max_steps; with max_steps only, as many epochs as it takes.
    max_epochs =
        (run.max_steps.value() + steps_per_epoch - 1) / std::max<int64_t>(1, steps_per_epoch);
  }
  total_steps = std::min(run.max_steps.value_or(INT64_MAX), max_epochs * steps_per_epoch);
  if (resolved.contains("scheduler")) {
    schedule = component_factories().build<SchedulerFamily>(table_of(resolved, "scheduler"),
                                                            RunLength{total_steps, max_epochs});
  }
  schedule.bind(optimizer->optimizer());
}

/// The loop state callbacks see, and the State a checkpoint saves and restores.
void Trainer::Impl::call(const std::string& hook) {
  const HookArgs hook_args{{"loop", &loop}, {"fabric", &fabric}};
  fabric.call(hook, hook_args);
}

void Trainer::Impl::add_loss(const at::Tensor& value) {
  if (pending_loss.defined()) {
    pending_loss.add_(value);
  } else {
    pending_loss = value.to(at::kDouble, /*non_blocking=*/false, /*copy=*/true);
  }
  loss_count += 1;
}

void Trainer::Impl::settle_losses() {
  if (!pending_loss.defined()) return;
  loss_sum += pending_loss.item<double>();
  pending_loss = at::Tensor();
}

std::map<std::string, double> Trainer::Impl::evaluate(Loader& loader, const std::string& prefix) {
  model->eval();
  torch::NoGradGuard no_grad;
  metrics->reset();
  for (auto& batch : loader) metrics->update((*model)(batch.data), batch.target);
  auto sums = metrics->sums().to(fabric.device());
  if (world > 1) sums = fabric.all_reduce(sums, ReduceOp::Sum);
  auto values = metrics->values(sums, prefix);
  loop.log(values);
  model->train();
  return values;
}

void Trainer::Impl::validate() {
  if (!val) return;
  call("on_validation_start");
  auto values = evaluate(*val, "val");
  std::string text = "epoch " + std::to_string(epoch) + " step " + std::to_string(loop.global_step);
  for (const auto& [k, v] : values) text += "  " + k + " " + std::to_string(v);
  out.line(text);
  call("on_validation_end");
}

/// The epoch's shuffle is drawn from the generator when the epoch starts; a run resumed inside
/// the epoch replays that draw, then continues from the generator state it saved. One resumed at
/// an epoch's start (a checkpoint written at the previous epoch's end) draws the shuffle as an
/// uninterrupted run does and goes on from there: rewinding the generator to before the draw
/// would make the next epoch repeat this one's shuffle.
std::shared_ptr<Trainer::Impl::Loader::Epoch> Trainer::Impl::start_epoch() {
  loop.epoch = epoch;
  at_epoch_end = false;
  const bool resume_inside_epoch = resuming && batch_in_epoch > 0;
  if (resuming) cpu_generator().set_state(saved_rng_epoch);
  rng_epoch_start = cpu_generator().get_state();
  auto pass = train->start_epoch(epoch, size_t(batch_in_epoch));
  if (resume_inside_epoch) cpu_generator().set_state(saved_rng);
  resuming = false;
  if (batch_in_epoch == 0) {
    loss_sum = 0;
    loss_count = 0;
    pending_loss = at::Tensor();
  }
  model->train();
  call("on_train_epoch_start");
  return pass;
}

at::Tensor Trainer::Impl::forward_backward(const Loader::Batch& batch, bool boundary,
                                           int64_t window) {
  auto guard = fabric.no_backward_sync(*model, !boundary);
  at::Tensor x = batch.data;
  if (splits.augment.any()) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(
        data::detail::batch_seed(global_seed(), rank, epoch, batch_in_epoch));
    x = augment_batch(x, splits.augment, gen);
  }
  at::Tensor value = loss.fn((*model)(x), batch.target);
  fabric.backward(accumulate > 1 ? value / double(window) : value);
  return value;
}

bool Trainer::Impl::train_batch(const Loader::Batch& batch, int64_t num_batches, bool& stop) {
  const int64_t b = batch_in_epoch;
  const bool boundary = (b + 1) % accumulate == 0 || b + 1 == num_batches;
  // The last window of an epoch may be short; its losses are averaged over its own size.
  const int64_t window = boundary && (b + 1) % accumulate != 0 ? (b % accumulate) + 1 : accumulate;
  const at::Tensor value = forward_backward(batch, boundary, window);
  // The loss stays on the device: reading it back every step would make the host wait for the
  // accelerator each step instead of queueing the next one.
  add_loss(value.detach());
  ++batch_in_epoch;
  loop.batch_in_epoch = batch_in_epoch;
  loop.samples_seen += batch.target.size(0) * world;
  if (!boundary) return true;
  optimizer_step();
  return after_step(value, stop);
}

void Trainer::Impl::optimizer_step() {
  if (run.gradient_clip_val > 0) {
    ClipOptions clip_options;
    (run.gradient_clip_algorithm == "value" ? clip_options.clip_val : clip_options.max_norm) =
        run.gradient_clip_val;
    fabric.clip_gradients(*model, *optimizer, clip_options);
  }
  schedule.apply(optimizer->optimizer(), loop.global_step, epoch);
  optimizer->step();
  optimizer->zero_grad();
  ++loop.global_step;
  if (auto profile = profiler->maybe_end(loop.global_step)) out.line(profile->table());
  loop.learning_rates.clear();
  for (auto& g : optimizer->param_groups()) loop.learning_rates.push_back(group_lr(g));
}

bool Trainer::Impl::after_step(const at::Tensor& value, bool& stop) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_started).count();
  const double samples_per_sec = elapsed > 0 ? double(loop.samples_seen) / elapsed : 0.0;
  const bool log_now = loop.global_step % run.log_every_n_steps == 0;
  // Decided once: the progress line must not come due later in this step without its loss.
  const bool print_now = out.due(loop.global_step);
  const double loss_value = log_now || print_now ? value.detach().item<double>() : NAN;
  call("on_train_batch_end");
  if (log_now) {
    loop.log({{"train/loss", loss_value}, {"epoch", double(epoch)}});
    call("on_log");
  }
  if (print_now) out.step(loop.global_step, epoch, loss_value, samples_per_sec);
  if (auto sample = system_metrics->sample_if_due()) loop.log(*sample);
  if (run.val_every_n_steps > 0 && loop.global_step % run.val_every_n_steps == 0) {
    validate();
    // Early stopping and pruning decide at a validation and stop there (as Lightning's
    // should_stop ends the epoch loop after the current batch).
    if (loop.should_stop) return false;
  }
  if (loop.global_step >= total_steps) {
    stop = true;
    if (run.max_steps && *run.max_steps == total_steps) {
      result.stop_reason = "reached max_steps (" + std::to_string(total_steps) + ")";
    }
    return false;
  }
  return true;
}

/// Every rank stops at the same step: the signal reaches rank 0 (the launcher's process group)
/// first, and one small all-reduce spreads it. Ranks agree every kAgreeEvery steps: on loopback
/// Gloo that collective costs as much as a small model's step.
int Trainer::Impl::agreed_signal() {
  if (world == 1) return hooks.interrupted();
  if (loop.global_step % kAgreeEvery != 0) return 0;
  auto flag = at::tensor({int64_t(hooks.interrupted())}, at::kLong).to(fabric.device());
  return int(fabric.all_reduce(flag, ReduceOp::Max).item<int64_t>());
}

/// The epoch's mean training loss over every rank's batches, validation, the resume point.
void Trainer::Impl::end_epoch(bool& stop) {
  at_epoch_end = true;
  settle_losses();
  auto sums = at::tensor({loss_sum, loss_count}, at::kDouble).to(fabric.device());
  if (world > 1) sums = fabric.all_reduce(sums, ReduceOp::Sum);
  auto s = sums.cpu();
  if (s[1].item<double>() > 0)
    loop.log({{"train/loss_epoch", s[0].item<double>() / s[1].item<double>()}});
  if (run.val_every_n_steps == 0 && (epoch + 1) % run.val_every_n_epochs == 0) validate();
  call("on_train_epoch_end");
  save_checkpoint(loop.checkpoint_dir + "/last.ckpt");
  batch_in_epoch = 0;
  if (loop.should_stop) {
    stop = true;
    result.stop_reason = loop.stop_reason;
  }
}

/// A signal stopped the run: the resume point is written where it stands.
FitResult Trainer::Impl::interrupted(int signal) {
  out.end_progress();
  save_checkpoint(loop.checkpoint_dir + "/last.ckpt");
  result.signal = signal;
  return finish();
}

FitResult Trainer::Impl::finish() {
  // What "best" means for each metric, as the metrics declare it: the evaluation metrics under
  // their prefixes, and the training loss.
  for (const char* prefix : {"val", "test"})
    result.lower_is_better.merge(metrics->lower_is_better(prefix));
  result.lower_is_better["train/loss"] = result.lower_is_better["train/loss_epoch"] = true;
  result.last_checkpoint = last_checkpoint;
  result.global_step = loop.global_step;
  result.epochs = epoch;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

FitResult Trainer::fit(const std::string& resume_from) {
  Impl& I = *impl_;
  I.started = std::chrono::steady_clock::now();
  I.build();
  I.plan_length();
  I.bind_state();
  I.bind_log();
  if (!resume_from.empty()) I.restore(resume_from);

  I.out.start(I.total_steps, I.loop.global_step);
  I.call("on_train_start");
  I.profiler.emplace(I.fabric.is_global_zero() ? I.run.profile_step : 0, I.fabric.device(),
                     I.run_dir + "/profile.json");
  const c10::Device device = I.fabric.device();
  I.system_metrics.emplace(I.run.system_metrics_interval,
                           device.is_cuda() ? std::optional<int>(device.index()) : std::nullopt);
  I.loop_started = std::chrono::steady_clock::now();
  bool stop = I.loop.global_step >= I.total_steps;
  for (; I.epoch < I.max_epochs && !stop; ++I.epoch) {
    auto pass = I.start_epoch();
    const int64_t num_batches = int64_t(pass->num_batches());
    for (;;) {
      if (I.batch_in_epoch % I.accumulate == 0) I.profiler->maybe_begin(I.loop.global_step + 1);
      auto batch = pass->next();
      if (!batch) break;
      const int64_t step_before = I.loop.global_step;
      if (!I.train_batch(*batch, num_batches, stop)) break;
      if (I.loop.global_step == step_before) continue;  // inside an accumulation window
      if (int signal = I.agreed_signal()) return I.interrupted(signal);
    }
    I.end_epoch(stop);
  }
  I.out.end_progress();
  if (I.system_metrics->enabled()) I.loop.log(I.system_metrics->sample());
  I.result.pruned = I.loop.pruned;
  if (I.test && !I.loop.pruned) {
    auto values = I.evaluate(*I.test, "test");
    std::string text = "test";
    for (const auto& [k, v] : values) text += "  " + k + " " + std::to_string(v);
    I.out.line(text);
  }
  I.call("on_train_end");
  return I.finish();
}

}  // namespace fabric::engine
