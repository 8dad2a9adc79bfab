// fabric-exp: the command line. This binary does not load LibTorch, so the commands that only
// read recipes and the store answer at once; the commands that train (`run`, `rerun`, `env`,
// `sweep trial`) are handed, with the same arguments, to fabric-exp-train beside it.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "exp/recipe/recipe.hpp"

namespace {

bool trains(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string command = argv[1];
  for (const auto& c : fabric::cli::kTrainingCommands)
    if (command == c.name) return true;
  return command == "sweep" && argc > 2 && std::string(argv[2]) == "trial";
}

/// Replaces this process by the training binary: the same pid, arguments and environment, so
/// signals, process groups and a sweep's child bookkeeping are unchanged.
int exec_trainer(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string trainer = (self.parent_path() / "fabric-exp-train").string();
  ::execv(trainer.c_str(), argv);
  std::cerr << "fabric-exp: error: cannot start " << trainer << ": " << std::strerror(errno)
            << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (trains(argc, argv)) return exec_trainer(argv);
  using namespace fabric::cli;
  return run_cli(
      argc, argv,
      [](CLI::App& app) {
        add_shared_commands(app);
        add_training_command_names(app);
      },
      [] { return fabric::exp::MachineInfo{probe_cuda_devices()}; });
}
