// `fabric-exp env`: what this binary was built with and what it sees.
#include <torch/cuda.h>
#include <torch/version.h>

#include <thread>

#include "cli/commands.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::cli {

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
