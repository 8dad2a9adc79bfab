// `fabric-exp sweep trial SWEEP N`: one trial of a sweep, what the controller and SLURM array
// tasks run (fabric-exp-train only: it trains).
#include "cli/commands.hpp"
#include "engine/trial.hpp"
#include "present/open_store.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

void add_sweep_trial_command(CLI::App& sweep) {
  auto* trial = sweep.add_subcommand(
      "trial", "Run one trial of a sweep (what the controller and SLURM array tasks run)");
  auto trial_ref = std::make_shared<std::string>();
  auto trial_number = std::make_shared<int64_t>(0);
  auto trial_store = std::make_shared<std::string>();
  trial->add_option("sweep", *trial_ref, "Sweep id")->required();
  trial->add_option("number", *trial_number, "Trial number")->required();
  add_store_option(trial, *trial_store);
  register_action(trial, [=] {
    return engine::run_trial(store_path(*trial_store), *trial_ref, *trial_number);
  });
}

}  // namespace fabric::cli
