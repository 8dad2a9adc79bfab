// What a checkpoint holds of the loop (epoch, batch, step, running loss sums, generator states,
// the callbacks' state) and how a resume restores it: the saved_* fields are the loop's position
// as of the last checkpoint, bound into the Fabric State that fabric.save writes.
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <filesystem>

#include "engine/trainer_impl.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

void Trainer::Impl::bind_state() {
  loop.total_steps = total_steps;
  loop.world_size = world;
  loop.is_global_zero = fabric.is_global_zero();
  loop.checkpoint_dir = run_dir + "/checkpoints";
  if (splits.info.task == Task::LanguageModel) loop.tokens_per_sample = splits.info.input_shape[0];
  state = State{{"model", *model},
                {"optimizer", *optimizer},
                {"loop", State{{"epoch", fabric::ref(saved_epoch)},
                               {"batch_in_epoch", fabric::ref(saved_batch)},
                               {"global_step", fabric::ref(saved_step)},
                               {"train_loss_sum", fabric::ref(saved_loss_sum)},
                               {"train_loss_count", fabric::ref(saved_loss_count)},
                               {"train_loss_by_rank", fabric::ref(saved_loss_by_rank)},
                               {"rng", fabric::ref(saved_rng)},
                               {"rng_epoch_start", fabric::ref(saved_rng_epoch)},
                               {"callbacks", fabric::ref(callback_state)}}}};
  if (auto* scaler = fabric.precision().scaler()) state.set("scaler", *scaler);
  loop.save_checkpoint = [this](const std::string& path) { save_checkpoint(path); };
  loop.remove_checkpoint = [this](const std::string& path) {
    if (fabric.is_global_zero()) {
      fs::remove_all(path);  // a sharded checkpoint is a folder
      hooks.checkpoint_removed(path);
    }
  };
}

void Trainer::Impl::restore(const std::string& path) {
  fabric.load(path, state);
  epoch = saved_epoch;
  batch_in_epoch = saved_batch;
  loop.global_step = saved_step;
  if (saved_loss_by_rank.defined() && saved_loss_by_rank.dim() == 2 &&
      saved_loss_by_rank.size(0) == world) {
    loss_sum = saved_loss_by_rank[rank][0].item<double>();
    loss_count = saved_loss_by_rank[rank][1].item<double>();
  } else {  // another world size: the epoch's totals so far, counted once
    loss_sum = rank == 0 ? saved_loss_sum : 0;
    loss_count = rank == 0 ? saved_loss_count : 0;
  }
  decode_callbacks(callback_state);
  resuming = true;
  out.line("resumed from " + path + " at epoch " + std::to_string(epoch) + ", batch " +
           std::to_string(batch_in_epoch) + ", step " + std::to_string(loop.global_step));
}

std::string Trainer::Impl::encode_callbacks() const {
  std::string s;
  for (size_t i = 0; i < callbacks.size(); ++i) {
    auto text = callbacks[i]->state();
    s += std::to_string(i) + " " + std::to_string(text.size()) + "\n" + text;
  }
  return s;
}

void Trainer::Impl::decode_callbacks(const std::string& s) {
  size_t pos = 0;
  while (pos < s.size()) {
    auto nl = s.find('\n', pos);
    if (nl == std::string::npos) break;
    size_t index = 0, length = 0;
    std::sscanf(s.substr(pos, nl - pos).c_str(), "%zu %zu", &index, &length);
    if (index < callbacks.size()) callbacks[index]->load_state(s.substr(nl + 1, length));
    pos = nl + 1 + length;
  }
}

void Trainer::Impl::save_checkpoint(const std::string& path) {
  saved_epoch = at_epoch_end ? epoch + 1 : epoch;
  saved_batch = at_epoch_end ? 0 : batch_in_epoch;
  saved_step = loop.global_step;
  settle_losses();
  auto mine = at::tensor({at_epoch_end ? 0 : loss_sum, at_epoch_end ? 0 : loss_count}, at::kDouble);
  saved_loss_by_rank = fabric.all_gather(mine.to(fabric.device())).cpu().reshape({-1, 2});
  saved_loss_sum = saved_loss_by_rank.select(1, 0).sum().item<double>();
  saved_loss_count = saved_loss_by_rank.select(1, 1).sum().item<double>();
  saved_rng = cpu_generator().get_state();
  saved_rng_epoch = at_epoch_end ? saved_rng : rng_epoch_start;
  callback_state = encode_callbacks();
  if (fabric.is_global_zero()) {
    // What was logged up to this checkpoint is stored first: a run killed right after the write
    // must not resume past metrics that were never recorded.
    for (const auto& logger : fabric.loggers()) logger->save();
    hooks.before_checkpoint(path);
  }
  fs::create_directories(fs::path(path).parent_path());
  fabric.save(path, state);
  last_checkpoint = path;
  if (fabric.is_global_zero()) hooks.checkpoint_written(path);
}

}  // namespace fabric::engine
