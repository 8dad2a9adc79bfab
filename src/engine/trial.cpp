#include "engine/trial.hpp"

#include <toml++/toml.h>

#include <filesystem>

#include "common/error.hpp"
#include "engine/run.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "sweep/settings.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

int run_trial(const std::string& store_path, const std::string& sweep_ref, int64_t number) {
  // The launcher's other ranks run this same command line; only global rank 0 records. Decided
  // now: launching sets LOCAL_RANK=0 in rank 0's own environment too.
  const bool recorder = env_rank_zero();
  RunRequest request;
  request.store = store_path;
  request.trial = number;
  std::string summary = "last", objective;
  {
    store::RunStore runs(store_path);
    sweep::SweepStore sweeps(runs);
    request.sweep_id = sweeps.resolve(sweep_ref);
    auto sweep = sweeps.get(request.sweep_id);
    auto trial = sweeps.trial(request.sweep_id, number);
    if (!trial) {
      throw ValueError("sweep " + request.sweep_id + " has no trial " + std::to_string(number));
    }
    if (trial->status == store::Status::Finished || trial->status == store::Status::Pruned) {
      throw ValueError("trial " + std::to_string(number) + " of sweep " + request.sweep_id +
                       " already ended (" + status_name(trial->status) + ")");
    }
    summary = sweep->summary;
    request.sweep_name = sweep->name;
    objective = sweep->objective;
    auto run = trial->run_id.empty() ? std::nullopt : runs.get(trial->run_id);
    if (run && run->status != store::Status::Failed &&
        fs::exists(run->run_dir + "/checkpoints/last.ckpt")) {
      request.resume = run->id;
    } else {
      request.recipe = sweep->sweep_dir + "/base.toml";
      for (auto&& [key, value] : toml::parse(trial->params))
        request.overrides.push_back("++" + std::string(key.str()) + "=" + exp::value_text(value));
    }
    // The launcher's other ranks run this same command after rank 0 has created or reopened the
    // run: they read the same trial and reach the same decision, and write nothing.
    if (env_rank_zero())
      sweeps.start_trial(request.sweep_id, number, trial->params, request.resume);
  }

  int code = 0;
  std::string error;
  std::exception_ptr failure;
  try {
    code = run_recipe(request);
  } catch (const std::exception& e) {
    failure = std::current_exception();
    error = e.what();
  }
  if (recorder) {
    store::RunStore runs(store_path);
    sweep::SweepStore sweeps(runs);
    auto trial = sweeps.trial(request.sweep_id, number);
    auto run = trial && !trial->run_id.empty() ? runs.get(trial->run_id) : std::nullopt;
    std::optional<double> value;
    if (run && !objective.empty()) value = sweeps.objective_value(run->id, objective, summary);
    const store::Status status = run ? run->status : store::Status::Failed;
    sweeps.end_trial(request.sweep_id, number,
                     status == store::Status::Running ? store::Status::Failed : status, value,
                     run && !run->error.empty() ? run->error : error);
  }
  if (failure) std::rethrow_exception(failure);  // the CLI reports it with its exit status
  return code;
}

}  // namespace fabric::engine
