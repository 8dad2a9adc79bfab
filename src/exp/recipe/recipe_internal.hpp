// What the recipe files (load, overrides, validate, resolve) share; not part of the recipe API.
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/recipe.hpp"
#include "exp/recipe/registry.hpp"

namespace fabric::exp::detail {

/// A relative path parameter is relative to the folder of the recipe file that wrote it (a base
/// recipe in another folder keeps its own); from the command line, to the main recipe's folder.
std::filesystem::path resolve_path_param(const toml::node& node, const std::string& value,
                                         const std::string& base_dir);
std::string read_file(const std::string& path);
/// Moves `value` into table[key]. Nodes are moved, never copied: toml++ drops the source position
/// of a copied node, and positions are what diagnostics point at.
void move_into(toml::table& table, const std::string& key, toml::node&& value);
/// The spec that declares the keys of a component table: its own kind, else the kind the recipe
/// it extends gives it (`fallback`).
const SpecBase* component_spec(const Registry& registry, const std::string& table,
                               const toml::table& t, const toml::node* fallback);

std::vector<std::string> split_path(const std::string& dotted);
void apply_override(toml::table& root, Override& o, const Registry& registry,
                    std::vector<Diagnostic>& out);
/// The rules between tables (model and data, task and loss, sweep, run name, precision and
/// devices), checked after each table on its own (cross_table_rules.cpp).
void check_across_tables(const toml::table& root, const Registry& registry,
                         const std::string& base_dir, const std::string& file,
                         std::vector<Diagnostic>& out);
/// [sweep.parameters] keys spelled by an alias take their canonical names.
void canonicalize_sweep_parameters(toml::table& root, const Registry& registry);

}  // namespace fabric::exp::detail
