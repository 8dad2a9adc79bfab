// Generated views of the registry: the JSON Schema editors use (taplo / Even Better TOML) and the
// Markdown reference, both from the same declarations that validate recipes.
#pragma once

#include <string>

#include "exp/recipe/registry.hpp"

namespace fabric::exp {

std::string recipe_schema_json(const Registry& registry = global_registry());
/// The whole reference, or only `filter`: a table ("optimizer") or one kind ("optimizer.adamw").
/// Throws std::invalid_argument naming the valid choices for an unknown filter.
std::string reference_markdown(const Registry& registry = global_registry(),
                               const std::string& filter = "");

}  // namespace fabric::exp
