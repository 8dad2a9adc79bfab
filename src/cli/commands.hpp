#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string_view>

#include "exp/recipe/recipe.hpp"
#include "version.hpp"

namespace fabric::cli {

/// The version, as meson.build declares it (version.hpp is made from it at configure time).
inline constexpr const char* kVersion = kFabricExpVersion;

/// `--store`, which every command that reads or writes the run store takes.
inline CLI::Option* add_store_option(CLI::App* sub, std::string& store) {
  return sub->add_option("--store", store,
                         "Run store: a SQLite file or a postgresql:// URL (default "
                         "$FABRIC_EXP_STORE, else runs/fabric-exp.db)");
}

/// The commands fabric-exp hands to fabric-exp-train (they need LibTorch), with their help: the
/// one list main() dispatches by, fabric-exp's --help shows, and fabric-exp-train defines.
struct TrainingCommand {
  const char* name;
  const char* help;
};
inline constexpr TrainingCommand kTrainingCommands[] = {
    {"run", "Train a recipe (or resume a run) and record it in the store"},
    {"rerun", "Run a recorded run's resolved recipe again (same seed) and compare"},
    {"env", "Print the build and runtime environment"},
    // It lists the options of the commands only fabric-exp-train defines.
    {"completion", "Print shell completion: bash, zsh or fish"},
};
/// The help of one of kTrainingCommands.
inline const char* training_command_help(std::string_view name) {
  for (const auto& c : kTrainingCommands)
    if (name == c.name) return c.help;
  return "";
}

/// Each add_*_command registers a subcommand and the function run_selected() calls for it.
/// The commands both binaries run: version, recipes, the store's queries, sweeps.
void add_shared_commands(CLI::App& app);
void add_version_command(CLI::App& app);
/// Registered last: it walks every command registered before it.
void add_completion_command(CLI::App& app);
void add_recipe_commands(CLI::App& app);
void add_runs_commands(CLI::App& app);
void add_compare_commands(CLI::App& app);
void add_sweep_commands(CLI::App& app);
void add_store_commands(CLI::App& app);
void add_ui_command(CLI::App& app);
/// kTrainingCommands as fabric-exp lists them in --help; fabric-exp-train runs them.
void add_training_command_names(CLI::App& app);
// The commands that need LibTorch (fabric-exp-train only).
void add_env_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_rerun_command(CLI::App& app);
void add_sweep_trial_command(CLI::App& sweep);

void register_action(CLI::App* sub, std::function<int()> action);
int run_selected(CLI::App& app);
/// Parses `argv` with the commands `add_commands` registers, runs the selected one and maps
/// errors to exit statuses; `machine` tells validation what this machine has.
int run_cli(int argc, char** argv, const std::function<void(CLI::App&)>& add_commands,
            const std::function<exp::MachineInfo()>& machine);
/// CUDA devices the NVIDIA driver shows (and CUDA_VISIBLE_DEVICES leaves), without loading
/// LibTorch; 0 when this build's LibTorch has no CUDA.
int probe_cuda_devices();

}  // namespace fabric::cli
