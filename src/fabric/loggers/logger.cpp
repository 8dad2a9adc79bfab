#include "fabric/loggers/logger.hpp"

#include <filesystem>
#include <regex>

#include "common/error.hpp"

namespace fs = std::filesystem;

namespace fabric {

void Logger::log_hyperparams(const std::map<std::string, std::string>&) {
  throw NotSupportedError("log_hyperparams is not supported by the " + name() + " logger yet");
}

namespace detail {

int next_version(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  static const std::regex pattern("^version_([0-9]+)$");
  int best = -1;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, m, pattern))
      best = std::max(best, std::stoi(m[1]));
  }
  return best + 1;
}

std::string versioned_dir(const std::string& root, const std::string& name,
                          const std::variant<std::monostate, int, std::string>& version,
                          std::string* version_out) {
  fs::path base = name.empty() ? fs::path(root) : fs::path(root) / name;
  std::string v;
  if (std::holds_alternative<std::string>(version)) {
    v = std::get<std::string>(version);
  } else {
    int n =
        std::holds_alternative<int>(version) ? std::get<int>(version) : next_version(base.string());
    v = "version_" + std::to_string(n);
  }
  if (version_out) *version_out = v;
  return (base / v).string();
}

}  // namespace detail
}  // namespace fabric
