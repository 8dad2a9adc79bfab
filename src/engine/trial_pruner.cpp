#include "engine/trial_pruner.hpp"

#include <cmath>
#include <optional>
#include <sstream>

#include "engine/loop_state.hpp"
#include "fabric/fabric.hpp"
#include "sweep/settings.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::engine {

namespace {

class TrialPruner : public EngineCallback {
 public:
  TrialPruner(std::shared_ptr<store::SharedRunStore> store, std::string sweep_id, int64_t number)
      : store_(std::move(store)), sweep_id_(std::move(sweep_id)), number_(number) {
    on("on_validation_end", [this](const HookArgs& a) { on_validation_end(a); });
  }

  std::string state() const override {
    std::ostringstream out;
    out.precision(17);
    for (double v : reports_) out << v << " ";
    return out.str();
  }
  void load_state(const std::string& text) override {
    std::istringstream in(text);
    reports_.clear();
    for (std::string v; in >> v;) reports_.push_back(v == "nan" ? NAN : std::stod(v));
  }

 private:
  void on_validation_end(const HookArgs& a) {
    LoopState& loop = *a.get<LoopState*>("loop");
    Fabric& fabric = *a.get<Fabric*>("fabric");
    int64_t prune = 0;
    std::string reason;
    if (loop.is_global_zero) {
      // Only global rank 0 touches the store; the others learn the decision below.
      if (!store_) throw ValueError("trial pruner: global rank 0 has no run store");
      store_->with([&](store::RunStore& runs) { decide_on(runs, loop, prune, reason); });
    }
    if (loop.world_size > 1) prune = fabric.broadcast(prune);
    if (prune) {
      loop.should_stop = true;
      loop.pruned = true;
      loop.stop_reason = reason.empty() ? "pruned" : reason;
    }
  }

  /// Global rank 0: records the report, and a decision to prune with the trial.
  void decide_on(store::RunStore& runs, const LoopState& loop, int64_t& prune,
                 std::string& reason) {
    sweep::SweepStore sweeps(runs);
    if (!settings_) {
      auto record = sweeps.get(sweep_id_);
      if (!record)
        throw ValueError("sweep " + sweep_id_ + " is not in " +
                         store::masked_location(runs.location()));
      settings_ = sweep::read_settings(record->spec);
    }
    auto it = loop.metrics.find(settings_->objective.value_or(""));
    if (settings_->pruning.kind == sweep::PrunerKind::None || it == loop.metrics.end()) return;
    reports_.push_back(it->second);
    auto d = decide(sweeps);
    // The validation after the last step: the trial has trained to the end, so it is
    // finished, whatever it would have been told earlier (its report still counts).
    const bool trained_to_the_end = loop.global_step >= loop.total_steps;
    if (d.prune && !trained_to_the_end) {
      sweeps.record_prune(sweep_id_, number_, {d.report, d.rung, d.value, d.threshold});
      prune = 1;
      reason = d.reason;
    }
  }

  sweep::PruneDecision decide(sweep::SweepStore& sweeps) {
    const auto& cfg = settings_->pruning;
    if (cfg.kind == sweep::PrunerKind::Median) {
      return sweep::median_decision(
          reports_, sweeps.finished_curves(sweep_id_, settings_->objective.value_or(""), number_),
          cfg);
    }
    const int64_t report = int64_t(reports_.size());
    auto rung = sweep::asha_rung(report, cfg);
    if (!rung) return {};
    auto values = sweeps.enter_rung(sweep_id_, *rung, number_, reports_.back());
    return sweep::asha_decision(reports_.back(), values, *rung, report, cfg);
  }

  std::shared_ptr<store::SharedRunStore> store_;
  std::string sweep_id_;
  int64_t number_;
  std::vector<double> reports_;
  std::optional<sweep::SweepSettings> settings_;  // read from the store at the first validation
};

}  // namespace

std::shared_ptr<EngineCallback> make_trial_pruner(std::shared_ptr<store::SharedRunStore> store,
                                                  const std::string& sweep_id, int64_t number) {
  return std::make_shared<TrialPruner>(std::move(store), sweep_id, number);
}

}  // namespace fabric::engine
