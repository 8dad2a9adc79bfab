#include "exp/recipe/registry.hpp"

#include <stdexcept>

namespace fabric::exp {

void Registry::add_table(TableInfo table) {
  if (this->table(table.name))
    throw std::logic_error("table [" + table.name + "] registered twice");
  if (table.spec) {  // a fixed table is described once, by its spec
    if (!table.summary.empty())
      throw std::logic_error("table [" + table.name + "]: its summary is its spec's");
    table.summary = table.spec->summary();
  }
  tables_.push_back(std::move(table));
}

void Registry::add(const SpecBase& spec) {
  const ComponentEntry entry{spec.table(), spec.kind(), &spec};
  const TableInfo* t = table(entry.table);
  if (!t || t->shape == TableShape::Fixed) {
    throw std::logic_error("component " + entry.kind + ": no component table [" + entry.table +
                           "]");
  }
  auto& kinds = components_[entry.table];
  if (kinds.count(entry.kind)) {
    throw std::logic_error("Key already registered: " + entry.table + " kind '" + entry.kind + "'");
  }
  kinds.emplace(entry.kind, entry);
}

const TableInfo* Registry::table(const std::string& name) const {
  for (const auto& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<std::string> Registry::table_names() const {
  std::vector<std::string> out;
  for (const auto& t : tables_) out.push_back(t.name);
  return out;
}

const ComponentEntry* Registry::find(const std::string& table, const std::string& kind) const {
  auto t = components_.find(table);
  if (t == components_.end()) return nullptr;
  auto k = t->second.find(kind);
  return k == t->second.end() ? nullptr : &k->second;
}

std::vector<std::string> Registry::kinds(const std::string& table) const {
  std::vector<std::string> out;
  auto t = components_.find(table);
  if (t != components_.end()) {
    for (const auto& [k, e] : t->second) out.push_back(k);
  }
  return out;
}

Registry& global_registry() {
  static Registry registry = [] {
    Registry r;
    register_builtin(r);
    return r;
  }();
  return registry;
}

}  // namespace fabric::exp
