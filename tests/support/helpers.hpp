// Shared test helpers: temporary folders, captured library warnings, Python interop, skips.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace spdlog::sinks {
class sink;
}

namespace test_support {

/// Marks the running test case as skipped (counted apart from passed) and leaves it.
#define FABRIC_SKIP(reason)               \
  do {                                    \
    ::test_support::mark_skipped(reason); \
    return;                               \
  } while (0)

void mark_skipped(const std::string& reason);
void reset_skip();
bool was_skipped();
std::string skip_reason();
void set_argv0(const char* argv0);
/// Folder of the running test executable (build/tests).
std::filesystem::path exe_dir();

/// A fresh folder under /tmp, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& child = "") const { return (path_ / child).string(); }

 private:
  std::filesystem::path path_;
};

/// Captures what the "fabric" logger emits (warnings, infos) while alive.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string text() const { return stream_.str(); }
  bool contains(const std::string& needle) const {
    return text().find(needle) != std::string::npos;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

/// The whole file as a string ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

/// The Python whose torch is the LibTorch of this build (Debian's python3-torch, or the venv of
/// -Dtorch_python), or nullopt when torch does not import there.
std::optional<std::string> python_with_torch();
/// True when python_with_torch() can import `module` (e.g. "lightning").
bool python_has(const std::string& module);
/// torchrun next to python_with_torch(), or nullopt.
std::optional<std::string> torchrun_path();

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr
};
/// Runs a shell command, capturing its output.
CommandResult run_command(const std::string& command);
/// Starts `count` processes at once, command(i) each, with their output in `dir`/<log_prefix><i>
/// and TMPDIR=`dir`, and waits for all: exit status 0 only when every one exited 0.
CommandResult run_at_once(int count, const std::function<std::string(int)>& command,
                          const TempDir& dir, const std::string& log_prefix);
/// Runs `script` with python_with_torch(); the caller checks it exists.
CommandResult run_python(const std::string& script);

}  // namespace test_support
