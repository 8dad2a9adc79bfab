#include "support/helpers.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "common/log.hpp"

namespace fs = std::filesystem;

namespace test_support {

namespace {
bool g_skipped = false;
std::string g_reason;
fs::path g_exe_dir;
}  // namespace

void mark_skipped(const std::string& reason) {
  g_skipped = true;
  g_reason = reason;
}
void reset_skip() {
  g_skipped = false;
  g_reason.clear();
}
bool was_skipped() {
  return g_skipped;
}
std::string skip_reason() {
  return g_reason;
}
void set_argv0(const char* argv0) {
  g_exe_dir = fs::absolute(fs::path(argv0)).parent_path();
}
fs::path exe_dir() {
  return g_exe_dir;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("fabric-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

LogCapture::LogCapture() {
  sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
  sink_->set_pattern("%l: %v");
  fabric::log()->sinks().push_back(sink_);
}
LogCapture::~LogCapture() {
  auto& sinks = fabric::log()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

CommandResult run_command(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

CommandResult run_at_once(int count, const std::function<std::string(int)>& command,
                          const TempDir& dir, const std::string& log_prefix) {
  std::string script = "export TMPDIR='" + dir.str() + "'\n";
  for (int i = 0; i < count; ++i)
    script += command(i) + " > '" + dir.str(log_prefix + std::to_string(i)) + "' 2>&1 &\n";
  script += "fail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail\n";
  const std::string path = dir.str(log_prefix + "run.sh");
  std::ofstream(path) << script;
  return run_command("bash '" + path + "'");
}

std::optional<std::string> python_with_torch() {
  // The Python whose torch is this build's LibTorch (meson's test_python): Debian's python3-torch
  // for the Debian build, the venv for the PyPI build. Never another one, whose torch may differ.
  static const std::optional<std::string> found = []() -> std::optional<std::string> {
    std::string py = FABRIC_TORCH_PYTHON;
    if (run_command(py + " -c 'import torch'").exit_code == 0) return py;
    return std::nullopt;
  }();
  return found;
}

bool python_has(const std::string& module) {
  // Asked once per module: importing lightning takes seconds, and every Lightning test asks.
  static std::map<std::string, bool> known;
  auto it = known.find(module);
  if (it != known.end()) return it->second;
  auto py = python_with_torch();
  const bool has =
      py && run_command(*py + " -c 'import " + module + "' 2>/dev/null").exit_code == 0;
  known.emplace(module, has);
  return has;
}

std::optional<std::string> torchrun_path() {
  auto py = python_with_torch();
  if (!py) return std::nullopt;
  auto path = std::filesystem::path(*py).parent_path() / "torchrun";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path.string();
}

CommandResult run_python(const std::string& script) {
  TempDir dir;
  std::string path = dir.str("script.py");
  std::ofstream(path) << script;
  return run_command(*python_with_torch() + " " + path);
}

}  // namespace test_support
