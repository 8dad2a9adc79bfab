#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace fabric::cli {

/// Each add_*_command registers a subcommand and the function run_selected() calls for it.
void add_version_command(CLI::App& app);
void add_env_command(CLI::App& app);
void add_recipe_commands(CLI::App& app);
void add_run_command(CLI::App& app);
void add_runs_commands(CLI::App& app);
void add_compare_commands(CLI::App& app);
void add_rerun_command(CLI::App& app);
void add_sweep_commands(CLI::App& app);
void register_action(CLI::App* sub, std::function<int()> action);
int run_selected(CLI::App& app);

}  // namespace fabric::cli
