// `fabric-exp env`: what this binary was built with and what it sees.
#include <ATen/Context.h>
#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <filesystem>
#include <thread>

#include "cli/commands.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::cli {

namespace {
/// The file the dynamic loader took LibTorch from: the object that holds at::globalContext
/// (libtorch_cpu.so), found by dladdr, links resolved. Tells a wheel's from Debian's, and a
/// stale copy from the one meant.
std::string loaded_libtorch() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&at::globalContext), &info) == 0 || !info.dli_fname)
    return "(unknown)";
  std::error_code ec;
  auto path = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? info.dli_fname : path.string();
}

std::string this_program() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "(unknown)" : path.string();
}
}  // namespace

void add_env_command(CLI::App& app) {
  auto* sub = app.add_subcommand("env", training_command_help("env"));
  register_action(sub, [] {
    std::cout << "fabric-exp   " << kVersion << "\n"
              << "program      " << this_program() << "\n"
              << "libtorch     " << compat::torch_version() << "\n"
              << "loaded from  " << loaded_libtorch() << "\n"
              << "compiler     "
              << "g++ " << __VERSION__ << "\n"
              << "cuda         " << (cuda_available() ? "available" : "not available") << "\n"
              << "cuda devices " << cuda_device_count() << "\n"
              << "cpu threads  " << std::thread::hardware_concurrency() << "\n";
    return 0;
  });
}

}  // namespace fabric::cli
