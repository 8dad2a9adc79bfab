// Resolution: defaults filled, the resolved TOML text, flattened params, absolute paths.
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

using namespace detail;

namespace {

void fill_defaults(toml::table& t, const SpecBase& spec) {
  for (const auto& p : spec.params()) {
    bool present = false;
    for (const auto& a : p.aliases) present = present || t.contains(a);
    if (!present && !t.contains(p.name) && p.default_value) t.insert(p.name, *p.default_value);
    if (p.table_spec) {  // a declared sub-table: present with its defaults too
      if (!t.contains(p.name)) t.insert(p.name, toml::table{});
      if (auto* sub = t.get(p.name)->as_table()) fill_defaults(*sub, *p.table_spec);
    }
  }
}

void flatten_into(const toml::node& node, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (auto t = node.as_table()) {
    for (const auto& [k, v] : *t)
      flatten_into(v, prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str()),
                   out);
  } else if (auto a = node.as_array(); a && a->is_array_of_tables()) {
    for (size_t i = 0; i < a->size(); ++i)
      flatten_into(*a->get(i), prefix + "." + std::to_string(i), out);
  } else {
    std::ostringstream os;
    if (auto s = node.as_string()) {
      os << s->get();
    } else if (auto f = node.as_floating_point()) {
      os << fmt::format("{}", f->get());
    } else {
      os << toml::toml_formatter(node, toml::format_flags::relaxed_float_precision);
    }
    out.emplace_back(prefix, os.str());
  }
}

}  // namespace

toml::table with_defaults(const toml::table& recipe, const Registry& registry) {
  toml::table out = recipe;
  for (const auto& info : registry.tables()) {
    if (info.shape == TableShape::Fixed) {
      if (!out.contains(info.name)) {
        if (!info.filled_when_absent) continue;
        out.insert(info.name, toml::table{});
      }
      fill_defaults(*out[info.name].as_table(), *info.spec);
    } else if (info.shape == TableShape::Component) {
      if (auto t = out[info.name].as_table()) {
        if (auto kind = (*t)["kind"].value<std::string>()) {
          if (auto e = registry.find(info.name, *kind)) fill_defaults(*t, *e->spec);
        }
      }
    } else if (auto arr = out[info.name].as_array()) {
      for (auto& item : *arr) {
        if (auto t = item.as_table()) {
          if (auto kind = (*t)["kind"].value<std::string>()) {
            if (auto e = registry.find(info.name, *kind)) fill_defaults(*t, *e->spec);
          }
        }
      }
    }
  }
  return out;
}

namespace {
std::string format_toml(const toml::table& table) {
  std::ostringstream os;
  os << toml::toml_formatter(
      table, toml::toml_formatter::default_flags | toml::format_flags::relaxed_float_precision);
  return os.str();
}
}  // namespace

std::string to_toml(const toml::table& table) {
  // A recipe's tables in the order recipes are written ([run] first, as the registry lists
  // them), not toml++'s alphabetical order; other keys (extends) before them.
  toml::table rest = table;
  std::vector<std::string> ordered;
  for (const auto& info : global_registry().tables()) {
    if (!table.contains(info.name)) continue;
    ordered.push_back(info.name);
    rest.erase(info.name);
  }
  std::string out = format_toml(rest);
  for (const auto& name : ordered) {
    toml::table one;
    table.get(name)->visit([&](const auto& value) { one.insert(name, value); });
    out += (out.empty() ? "" : "\n\n") + format_toml(one);
  }
  return out + "\n";
}

std::vector<std::pair<std::string, std::string>> flatten(const toml::table& table) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten_into(table, "", out);
  return out;
}

void absolutize_paths(toml::table& recipe, const std::string& base_dir, const Registry& registry) {
  auto fix = [&](toml::table& t, const std::string& table) {
    auto kind = t["kind"].value<std::string>();
    const ComponentEntry* entry = kind ? registry.find(table, *kind) : nullptr;
    if (!entry) return;
    for (const auto& p : entry->spec->params()) {
      auto* node = t.get(p.name);
      if (!p.is_path || !node || !node->is_string()) continue;
      auto& value = *node->as_string();
      value = fs::weakly_canonical(resolve_path_param(*node, value.get(), base_dir)).string();
    }
  };
  for (auto&& [key, node] : recipe) {
    const std::string table(key.str());
    if (auto* t = node.as_table()) fix(*t, table);
    if (auto* arr = node.as_array()) {
      for (auto& e : *arr)
        if (auto* t = e.as_table()) fix(*t, table);
    }
  }
}

}  // namespace fabric::exp
