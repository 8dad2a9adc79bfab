// `fabric-exp sweep trial SWEEP N`: one trial of a sweep, what the controller and SLURM array
// tasks run (fabric-exp-train only: it trains).
#include "cli/commands.hpp"
#include "cli/open_store.hpp"
#include "engine/trial.hpp"

namespace fabric::cli {

void add_sweep_trial_command(CLI::App& sweep) {
  auto* trial = sweep.add_subcommand(
      "trial", "Run one trial of a sweep (what the controller and SLURM array tasks run)");
  auto trial_ref = std::make_shared<std::string>();
  auto trial_number = std::make_shared<int64_t>(0);
  auto trial_store = std::make_shared<std::string>();
  trial->add_option("sweep", *trial_ref, "Sweep id")->required();
  trial->add_option("number", *trial_number, "Trial number")->required();
  trial->add_option("--store", *trial_store, "Run store");
  register_action(trial, [=] {
    return engine::run_trial(store_path(*trial_store), *trial_ref, *trial_number);
  });
}

}  // namespace fabric::cli
