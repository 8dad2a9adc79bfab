// Helpers the recipe files share: paths, file text, moving nodes, which spec declares a table.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/recipe_internal.hpp"
#include "exp/recipe/search_space.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "store/folder_name.hpp"

namespace fs = std::filesystem;

namespace fabric::exp {

namespace detail {

/// A relative path parameter is relative to the folder of the recipe file that wrote it (a base
/// recipe in another folder keeps its own); from the command line, to the main recipe's folder.
fs::path resolve_path_param(const toml::node& node, const std::string& value,
                            const std::string& base_dir) {
  if (fs::path(value).is_absolute()) return value;
  const auto& src = node.source().path;
  const bool from_file = src && src->rfind("override '", 0) != 0;
  const fs::path dir = from_file ? fs::path(*src).parent_path() : fs::path();
  return (dir.empty() ? fs::path(base_dir) : dir) / value;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Moves `value` into table[key]. Nodes are moved, never copied: toml++ drops the source position
// of a copied node, and positions are what diagnostics point at.
void move_into(toml::table& table, const std::string& key, toml::node&& value) {
  std::move(value).visit([&](auto&& v) { table.insert_or_assign(key, std::move(v)); });
}

/// The spec that declares the keys of a component table: its own kind, else the kind the recipe
/// it extends gives it.
const SpecBase* component_spec(const Registry& registry, const std::string& table,
                               const toml::table& t, const toml::node* fallback) {
  auto kind = t["kind"].value<std::string>();
  if (!kind && fallback && fallback->is_table())
    kind = (*fallback->as_table())["kind"].value<std::string>();
  if (!kind) return nullptr;
  const ComponentEntry* e = registry.find(table, *kind);
  return e ? e->spec : nullptr;
}

}  // namespace detail

}  // namespace fabric::exp
