// A run's or a sweep's name becomes part of a folder name under the runs folder, so it must be a
// name and not a path: no separator, not "." or "..", no control characters. Checked where a
// recipe is validated (with its line) and again where the folder is made.
#pragma once

#include <string>

namespace fabric::store {

/// Why `name` cannot name a folder inside the runs folder, or "" when it can.
inline std::string folder_name_problem(const std::string& name) {
  if (name.empty()) return "it is empty";
  if (name == "." || name == "..") return "'" + name + "' is not a name";
  if (name.size() > 200) return "it is longer than 200 characters";
  for (unsigned char c : name) {
    if (c == '/' || c == '\\') return "it contains a path separator";
    if (c < 0x20 || c == 0x7f) return "it contains a control character";
  }
  return "";
}

}  // namespace fabric::store
