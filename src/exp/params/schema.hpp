// Generated views of the registry: the JSON Schema editors use (taplo / Even Better TOML) and the
// Markdown reference, both from the same declarations that validate recipes.
#pragma once

#include <string>

#include "exp/recipe/registry.hpp"

namespace fabric::exp {

std::string recipe_schema_json(const Registry& registry = builtin_registry());
std::string reference_markdown(const Registry& registry = builtin_registry());

}  // namespace fabric::exp
