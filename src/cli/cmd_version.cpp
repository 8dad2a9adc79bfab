// `fabric-exp version`, and what the LibTorch-free binary says about the commands it hands on.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"

namespace fabric::cli {

void add_version_command(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the fabric-exp version");
  register_action(sub, [] {
    std::cout << "fabric-exp " << kVersion << "\n";
    return 0;
  });
}

void add_shared_commands(CLI::App& app) {
  add_version_command(app);
  add_recipe_commands(app);
  add_runs_commands(app);
  add_compare_commands(app);
  add_sweep_commands(app);
  add_store_commands(app);
  add_ui_command(app);
}

void add_training_command_names(CLI::App& app) {
  // Listed for --help only: main() hands these command lines to fabric-exp-train before parsing.
  for (const auto& c : kTrainingCommands) app.add_subcommand(c.name, c.help)->allow_extras();
}

int probe_cuda_devices() {
#ifdef FABRIC_WITH_CUDA
  int found = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)e;
    ++found;
  }
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    // "0,1" or "" (none): as many as listed, at most as many as there are.
    int listed = 0;
    std::stringstream ss(visible);
    for (std::string item; std::getline(ss, item, ',');) listed += !item.empty();
    found = std::min(found, listed);
  }
  return found;
#else
  return 0;
#endif
}

}  // namespace fabric::cli
