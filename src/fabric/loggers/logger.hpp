// Logger interface (Lightning's fabric Logger): scalar metrics with a step. Built-in loggers
// write on global rank 0 only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace fabric {

class Logger {
 public:
  virtual ~Logger() = default;
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  /// Folder this logger writes to ("" if none).
  virtual std::string log_dir() const { return ""; }
  virtual void log_metrics(const std::map<std::string, double>& metrics,
                           std::optional<int64_t> step) = 0;
  /// Not supported by the built-in loggers yet (Fabric's CSVLogger raises as well).
  virtual void log_hyperparams(const std::map<std::string, std::string>& params);
  /// Flushes what is buffered.
  virtual void save() {}
  /// Flushes and closes; `status` is "success", "failed", ...
  virtual void finalize(const std::string& status) { save(); }
};

namespace detail {
/// `version_N` folders: the next free N under `dir` (0 if none).
int next_version(const std::string& dir);
/// <root>/<name>/<version_dir>, with name "" giving <root>/<version_dir>.
std::string versioned_dir(const std::string& root, const std::string& name,
                          const std::variant<std::monostate, int, std::string>& version,
                          std::string* version_out);
}  // namespace detail

}  // namespace fabric
