// Shared test helpers: temporary folders, captured library warnings, Python interop, skips.
#pragma once

#include <filesystem>
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

/// A Python interpreter with torch importable (Debian's python3-torch), or nullopt.
std::optional<std::string> python_with_torch();

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr
};
/// Runs a shell command, capturing its output.
CommandResult run_command(const std::string& command);
/// Runs `script` with python_with_torch(); the caller checks it exists.
CommandResult run_python(const std::string& script);

}  // namespace test_support
