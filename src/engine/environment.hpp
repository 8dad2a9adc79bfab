// What a run records about the software and machine it ran on (the run store's `env`), and the
// git state of the recipe's folder.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "version.hpp"

namespace fabric::engine {

/// fabric-exp, libtorch, compiler, cuda, device names, cpu threads.
std::map<std::string, std::string> environment_facts();

struct GitState {
  std::string commit{};  // "" outside a repository
  std::optional<bool> dirty{};
};
GitState git_state(const std::string& folder);

}  // namespace fabric::engine
