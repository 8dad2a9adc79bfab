// `fabric-exp version` and `fabric-exp env`: what this binary was built with and what it sees.
#include <torch/cuda.h>
#include <torch/version.h>

#include <map>
#include <thread>

#include "cli/commands.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::cli {

namespace {
std::map<CLI::App*, std::function<int()>>& actions() {
  static std::map<CLI::App*, std::function<int()>> a;
  return a;
}
constexpr const char* kVersion = "0.1.0";
}  // namespace

void register_action(CLI::App* sub, std::function<int()> action) {
  actions()[sub] = std::move(action);
}

int run_selected(CLI::App& app) {
  CLI::App* selected = &app;  // the deepest subcommand given: `config show` runs show
  while (!selected->get_subcommands().empty()) selected = selected->get_subcommands().front();
  auto it = actions().find(selected);
  return it == actions().end() ? 2 : it->second();
}

void add_version_command(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the fabric-exp version");
  register_action(sub, [] {
    std::cout << "fabric-exp " << kVersion << "\n";
    return 0;
  });
}

void add_env_command(CLI::App& app) {
  auto* sub = app.add_subcommand("env", "Print the build and runtime environment");
  register_action(sub, [] {
    std::cout << "fabric-exp   " << kVersion << "\n"
              << "libtorch     " << compat::torch_version() << "\n"
              << "compiler     "
              << "g++ " << __VERSION__ << "\n"
              << "cuda         " << (cuda_available() ? "available" : "not available") << "\n"
              << "cuda devices " << cuda_device_count() << "\n"
              << "cpu threads  " << std::thread::hardware_concurrency() << "\n";
    return 0;
  });
}

}  // namespace fabric::cli
