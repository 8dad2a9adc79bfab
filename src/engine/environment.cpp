#include "engine/environment.hpp"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <array>
#include <cstdio>
#include <memory>
#include <thread>

#include "fabric/accelerators/accelerator.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace fabric::engine {

namespace {
/// stdout of a shell command, or nullopt when it fails.
std::optional<std::string> capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>/dev/null").c_str(), "r"),
                                             pclose);
  if (!pipe) return std::nullopt;
  std::string out;
  std::array<char, 256> buf{};
  while (fgets(buf.data(), int(buf.size()), pipe.get())) out += buf.data();
  if (pclose(pipe.release()) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::map<std::string, std::string> environment_facts() {
  std::map<std::string, std::string> env{
      {"fabric_exp", fabric::kFabricExpVersion},
      {"libtorch", compat::torch_version()},
      {"compiler", std::string("g++ ") + __VERSION__},
      {"cuda", cuda_available() ? "available" : "not available"},
      {"cuda_devices", std::to_string(cuda_device_count())},
      {"cpu_threads", std::to_string(std::thread::hardware_concurrency())},
      {"torch_threads", std::to_string(at::get_num_threads())},
  };
  return env;
}

GitState git_state(const std::string& folder) {
  GitState g;
  if (auto head = capture("git -C " + quote(folder) + " rev-parse HEAD")) {
    g.commit = *head;
    if (auto status =
            capture("git -C " + quote(folder) + " status --porcelain --untracked-files=no"))
      g.dirty = !status->empty();
  }
  return g;
}

}  // namespace fabric::engine
