// The registry of recipe tables and component kinds. Built-in components are added from one
// explicit list (components/builtin.cpp); users add theirs the same way with Registry::add.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exp/params/param_spec.hpp"

namespace fabric::exp {

enum class TableShape {
  Fixed,           // [run]: one spec
  Component,       // [optimizer]: kind = "..." selects the spec
  ComponentArray,  // [[metrics]]: a list of components
};

struct TableInfo {
  std::string name{};
  std::string summary{};
  TableShape shape = TableShape::Fixed;
  bool required = false;
  const SpecBase* spec = nullptr;  // Fixed tables only
  /// Fixed tables: whether defaults fill the table into a recipe that lacks it ([run] yes;
  /// [sweep] no: a recipe without one is not a sweep).
  bool filled_when_absent = true;
};

struct ComponentEntry {
  std::string table{};  // "optimizer"
  std::string kind{};   // "adamw"
  const SpecBase* spec = nullptr;
};

class Registry {
 public:
  void add_table(TableInfo table);
  /// Adds a component kind under its spec's (table, kind). Throws std::logic_error on a duplicate
  /// kind or a table that does not exist.
  void add(const SpecBase& spec);

  const TableInfo* table(const std::string& name) const;
  const std::vector<TableInfo>& tables() const { return tables_; }
  std::vector<std::string> table_names() const;
  const ComponentEntry* find(const std::string& table, const std::string& kind) const;
  /// Kinds of a component table, sorted.
  std::vector<std::string> kinds(const std::string& table) const;

 private:
  std::vector<TableInfo> tables_;
  std::map<std::string, std::map<std::string, ComponentEntry>> components_;
};

/// The process's registry: the built-in tables and components, and those the program added
/// (engine::register_component adds a user's component here and its factory to the engine).
/// Components are added at start-up, before recipes are read.
Registry& global_registry();

/// Registers the built-in tables and components into `registry` (the one list).
void register_builtin(Registry& registry);

}  // namespace fabric::exp
