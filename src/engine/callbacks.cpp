#include "engine/callbacks.hpp"

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "engine/loop_state.hpp"
#include "exp/components/callbacks/checkpoint.hpp"
#include "exp/components/callbacks/early_stopping.hpp"
#include "exp/components/callbacks/lr_monitor.hpp"
#include "exp/components/callbacks/throughput.hpp"

namespace fabric::engine {

namespace {

LoopState& loop_of(const HookArgs& args) {
  return *args.get<LoopState*>("loop");
}

bool improves(double value, double best, const std::string& mode, double min_delta = 0) {
  if (std::isnan(value)) return false;
  if (std::isnan(best)) return true;
  return mode == "min" ? value < best - min_delta : value > best + min_delta;
}

std::optional<double> monitored(const LoopState& loop, const std::string& key,
                                const std::string& who) {
  auto it = loop.metrics.find(key);
  if (it != loop.metrics.end()) return it->second;
  std::string known;
  for (const auto& [k, v] : loop.metrics) known += (known.empty() ? "" : ", ") + k;
  throw ValueError("[[callbacks]] " + who + ": monitor '" + key + "' is not a logged metric (" +
                   (known.empty() ? "none logged yet" : "logged: " + known) + ")");
}

/// Keeps the top-k checkpoints by a monitored metric, and last.ckpt.
class CheckpointCallback : public EngineCallback {
 public:
  explicit CheckpointCallback(const exp::components::CheckpointCallbackConfig& c)
      : monitor_(c.monitor),
        mode_(c.mode),
        top_k_(c.save_top_k),
        save_last_(c.save_last),
        every_(c.every_n_epochs) {
    on("on_validation_end", [this](const HookArgs& a) { on_validation_end(loop_of(a)); });
    // The engine keeps last.ckpt as the resume point while the run goes; save_last = false
    // drops it once the run has finished.
    on("on_train_end", [this](const HookArgs& a) {
      if (!save_last_) loop_of(a).remove_checkpoint(loop_of(a).checkpoint_dir + "/last.ckpt");
    });
  }
  std::string state() const override {
    std::ostringstream out;
    out.precision(17);
    for (const auto& [path, score] : best_) out << score << "\t" << path << "\n";
    return out.str();
  }
  void load_state(const std::string& text) override {
    best_.clear();
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto tab = line.find('\t');
      if (tab != std::string::npos)
        best_.emplace_back(line.substr(tab + 1), std::stod(line.substr(0, tab)));
    }
  }

 private:
  void on_validation_end(LoopState& loop) {
    if ((loop.epoch + 1) % every_ != 0) return;
    const double score = *monitored(loop, monitor_, "checkpoint");
    if (top_k_ != 0) {
      const std::string path = loop.checkpoint_dir + "/epoch=" + std::to_string(loop.epoch) +
                               "-step=" + std::to_string(loop.global_step) + ".ckpt";
      const bool keep =
          top_k_ < 0 || int64_t(best_.size()) < top_k_ || improves(score, worst()->second, mode_);
      if (keep) {
        loop.save_checkpoint(path);
        best_.emplace_back(path, score);
        if (top_k_ > 0 && int64_t(best_.size()) > top_k_) {
          auto w = worst();
          loop.remove_checkpoint(w->first);
          best_.erase(w);
        }
      }
    }
  }
  std::vector<std::pair<std::string, double>>::iterator worst() {
    auto w = best_.begin();
    for (auto it = best_.begin(); it != best_.end(); ++it)
      if (improves(w->second, it->second, mode_)) w = it;
    return w;
  }
  std::string monitor_, mode_;
  int64_t top_k_;
  bool save_last_;
  int64_t every_;
  std::vector<std::pair<std::string, double>> best_;
};

class EarlyStoppingCallback : public EngineCallback {
 public:
  explicit EarlyStoppingCallback(const exp::components::EarlyStoppingCallbackConfig& c)
      : monitor_(c.monitor), mode_(c.mode), patience_(c.patience), min_delta_(c.min_delta) {
    on("on_validation_end", [this](const HookArgs& a) {
      LoopState& loop = loop_of(a);
      const double value = *monitored(loop, monitor_, "early_stopping");
      if (improves(value, best_, mode_, min_delta_)) {
        best_ = value;
        wait_ = 0;
      } else if (++wait_ >= patience_) {
        loop.should_stop = true;
        loop.stop_reason = "early stopping: " + monitor_ + " did not improve for " +
                           std::to_string(wait_) + " validations (best " + std::to_string(best_) +
                           ")";
      }
    });
  }
  std::string state() const override {
    std::ostringstream out;
    out.precision(17);
    out << best_ << " " << wait_;
    return out.str();
  }
  void load_state(const std::string& text) override {
    std::istringstream in(text);
    std::string best;
    in >> best >> wait_;
    best_ = best == "nan" ? NAN : std::stod(best);
  }

 private:
  std::string monitor_, mode_;
  int64_t patience_;
  double min_delta_;
  double best_ = NAN;
  int64_t wait_ = 0;
};

class LrMonitorCallback : public EngineCallback {
 public:
  LrMonitorCallback() {
    on("on_log", [](const HookArgs& a) {
      LoopState& loop = loop_of(a);
      std::map<std::string, double> m;
      for (size_t i = 0; i < loop.learning_rates.size(); ++i)
        m[i == 0 ? "lr" : "lr/group" + std::to_string(i)] = loop.learning_rates[i];
      loop.log(m);
    });
  }
};

/// Samples (and tokens) per second over a sliding window of optimizer steps, all ranks.
class ThroughputCallback : public EngineCallback {
 public:
  explicit ThroughputCallback(int64_t window) : window_(size_t(window)) {
    on("on_train_batch_end", [this](const HookArgs& a) {
      LoopState& loop = loop_of(a);
      window_points_.emplace_back(clock::now(), loop.samples_seen);
      while (window_points_.size() > window_ + 1) window_points_.pop_front();
    });
    on("on_train_epoch_start", [this](const HookArgs&) { window_points_.clear(); });
    on("on_log", [this](const HookArgs& a) {
      if (window_points_.size() < 2) return;
      LoopState& loop = loop_of(a);
      const double secs =
          std::chrono::duration<double>(window_points_.back().first - window_points_.front().first)
              .count();
      if (secs <= 0) return;
      const double samples =
          double(window_points_.back().second - window_points_.front().second) / secs;
      std::map<std::string, double> m{{"throughput/samples_per_sec", samples}};
      if (loop.tokens_per_sample > 0)
        m["throughput/tokens_per_sec"] = samples * double(loop.tokens_per_sample);
      loop.log(m);
    });
  }

 private:
  using clock = std::chrono::steady_clock;
  size_t window_;
  std::deque<std::pair<clock::time_point, int64_t>> window_points_;
};

}  // namespace

void add_callback_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<CallbackFamily>(checkpoint_callback_spec(),
                        [](const CheckpointCallbackConfig& c, const NoContext&) {
                          return std::make_shared<CheckpointCallback>(c);
                        });
  f.add<CallbackFamily>(early_stopping_callback_spec(),
                        [](const EarlyStoppingCallbackConfig& c, const NoContext&) {
                          return std::make_shared<EarlyStoppingCallback>(c);
                        });
  f.add<CallbackFamily>(lr_monitor_callback_spec(),
                        [](const LrMonitorCallbackConfig&, const NoContext&) {
                          return std::make_shared<LrMonitorCallback>();
                        });
  f.add<CallbackFamily>(throughput_callback_spec(),
                        [](const ThroughputCallbackConfig& c, const NoContext&) {
                          return std::make_shared<ThroughputCallback>(c.window);
                        });
}

}  // namespace fabric::engine
