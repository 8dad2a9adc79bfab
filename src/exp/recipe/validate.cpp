// Validation: every key, type, check and cross-table rule of a merged recipe, all reported at
// once.
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

namespace fs = std::filesystem;

namespace fabric::exp {

using namespace detail;

namespace {

std::string a_type(ParamType t) {
  std::string n = type_name(t);
  return (n[0] == 'i' ? "an " : "a ") + n;
}

// ---- validation -----------------------------------------------------------------------------

class Validator {
 public:
  Validator(const Registry& registry, std::string base_dir, std::vector<Diagnostic>& out)
      : registry_(registry), base_dir_(std::move(base_dir)), out_(out) {}

  void recipe(const toml::table& root, const std::string& file) {
    for (const auto& [key, node] : root) {
      const std::string k(key.str());
      const TableInfo* info = registry_.table(k);
      if (!info) {
        auto candidates = registry_.table_names();
        candidates.push_back("extends");
        auto s = suggest(k, candidates);
        Diagnostic d{key_pos(key, node, file), "unknown table [" + k + "]", {}};
        std::string hint = s.empty()
                               ? ""
                               : (s.front() == "extends" ? "did you mean 'extends'? "
                                                         : "did you mean [" + s.front() + "]? ");
        d.notes.push_back(hint + "valid tables: " + join(registry_.table_names()));
        out_.push_back(d);
        continue;
      }
      if (info->shape == TableShape::ComponentArray) {
        const toml::array* arr = node.as_array();
        if (!arr || !arr->is_array_of_tables()) {
          out_.push_back(
              {pos_of(node, file),
               "'" + k + "' must be a list of tables ([[" + k + "]]), got " + kind_of(node),
               {}});
          continue;
        }
        for (size_t i = 0; i < arr->size(); ++i) {
          component(*arr->get(i)->as_table(), *info, k + "[" + std::to_string(i) + "]", file);
        }
        continue;
      }
      const toml::table* t = node.as_table();
      if (!t) {
        out_.push_back({pos_of(node, file),
                        "'" + k + "' must be a table ([" + k + "]), got " + kind_of(node),
                        {}});
        continue;
      }
      if (info->shape == TableShape::Fixed) {
        params(*t, *info->spec, k, "[" + k + "]", file);
      } else {
        component(*t, *info, k, file);
      }
    }
    for (const auto& info : registry_.tables()) {
      if (info.required && !root.contains(info.name)) {
        out_.push_back({{file, 0, 0},
                        "the recipe has no [" + info.name + "] table",
                        {"valid kinds: " + join(registry_.kinds(info.name))}});
      }
    }
    detail::check_across_tables(root, registry_, base_dir_, file, out_);
  }

 private:
  void component(const toml::table& t, const TableInfo& info, const std::string& where,
                 const std::string& file) {
    const toml::node* kind = t.get("kind");
    auto kinds = registry_.kinds(info.name);
    if (!kind) {
      out_.push_back(
          {pos_of(t, file), "[" + where + "] needs a 'kind'", {"valid kinds: " + join(kinds)}});
      return;
    }
    if (!kind->is_string()) {
      out_.push_back({pos_of(*kind, file),
                      "'" + where + ".kind' must be a string, got " + kind_of(*kind),
                      {}});
      return;
    }
    const std::string k = kind->as_string()->get();
    const ComponentEntry* entry = registry_.find(info.name, k);
    if (!entry) {
      Diagnostic d{pos_of(*kind, file),
                   "[" + where + "] kind '" + k + "' is not a registered " + info.name + " kind",
                   {}};
      auto s = suggest(k, kinds);
      if (!s.empty()) d.notes.push_back("did you mean '" + s.front() + "'?");
      d.notes.push_back("valid kinds: " + join(kinds));
      out_.push_back(d);
      return;
    }
    params(t, *entry->spec, where, "[" + where + "] (kind = \"" + k + "\")", file, "kind");
  }

  /// A table's keys against `spec`; `selector` is the key that chose the spec ("kind", "type").
  void params(const toml::table& t, const SpecBase& spec, const std::string& where,
              const std::string& label, const std::string& file, const char* selector = nullptr) {
    std::set<const ParamInfo*> seen;
    for (const auto& [key, node] : t) {
      const std::string k(key.str());
      if (selector && k == selector) continue;
      const ParamInfo* p = spec.find(k);
      if (!p) {
        Diagnostic d{key_pos(key, node, file), "unknown key '" + k + "' in " + label, {}};
        auto s = suggest(k, spec.names());
        std::vector<std::string> valid;
        for (const auto& q : spec.params()) valid.push_back(q.name);
        std::string note;
        if (!s.empty()) {
          const ParamInfo* target = spec.find(s.front());
          note = "did you mean '" + s.front() + "'" +
                 (target->name != s.front() ? " (alias of '" + target->name + "')" : "") + "? ";
        }
        d.notes.push_back(note + (valid.empty() ? "this kind takes no parameters"
                                                : "valid keys: " + join(valid)));
        out_.push_back(d);
        continue;
      }
      if (!seen.insert(p).second) {
        out_.push_back({pos_of(node, file),
                        "'" + where + "." + p->name + "' is set twice (through an alias)",
                        {}});
        continue;
      }
      value(node, *p, where + "." + p->name, file);
    }
    for (const auto& p : spec.params()) {
      if (p.required && !seen.count(&p)) {
        out_.push_back(
            {pos_of(t, file), label + " is missing the required key '" + p.name + "'", {p.doc}});
      }
    }
  }

  void value(const toml::node& node, const ParamInfo& p, const std::string& name,
             const std::string& file) {
    auto type_error = [&] {
      out_.push_back({pos_of(node, file),
                      "'" + name + "' must be " + a_type(p.type) + ", got " + kind_of(node) +
                          (node.is_array() || node.is_table() ? "" : " (" + describe(node) + ")"),
                      {}});
    };
    auto number_checks = [&](const toml::node& n, const std::string& label) {
      double v = n.is_integer() ? double(n.as_integer()->get()) : n.as_floating_point()->get();
      for (const auto& c : p.checks) {
        if (!c.ok(v))
          out_.push_back({pos_of(n, file),
                          "'" + label + "' must be " + c.phrase + ", got " + describe(n),
                          {}});
      }
    };
    switch (p.type) {
      case ParamType::Bool:
        if (!node.is_boolean()) return type_error();
        return;
      case ParamType::Int:
        if (!node.is_integer()) return type_error();
        return number_checks(node, name);
      case ParamType::Float:
        if (!node.is_number()) return type_error();
        return number_checks(node, name);
      case ParamType::String:
        if (!node.is_string()) return type_error();
        return string_checks(node, node.as_string()->get(), p, name, file);
      case ParamType::IntOrString:
        if (node.is_integer())
          return string_checks(node, std::to_string(node.as_integer()->get()), p, name, file);
        if (!node.is_string()) return type_error();
        return string_checks(node, node.as_string()->get(), p, name, file);
      case ParamType::IntList:
      case ParamType::FloatList:
      case ParamType::StringList: {
        const toml::array* arr = node.as_array();
        if (!arr) return type_error();
        if (p.nonempty && arr->empty()) {
          out_.push_back({pos_of(node, file), "'" + name + "' must not be empty", {}});
        }
        for (size_t i = 0; i < arr->size(); ++i) {
          const toml::node& e = *arr->get(i);
          std::string label = name + "[" + std::to_string(i) + "]";
          bool ok = p.type == ParamType::IntList
                        ? e.is_integer()
                        : (p.type == ParamType::FloatList ? e.is_number() : e.is_string());
          if (!ok) {
            out_.push_back(
                {pos_of(e, file),
                 "'" + label + "' must be " +
                     std::string(p.type == ParamType::StringList
                                     ? "a string"
                                     : (p.type == ParamType::IntList ? "an integer" : "a number")) +
                     ", got " + kind_of(e),
                 {}});
          } else if (p.type != ParamType::StringList) {
            number_checks(e, label);
          }
        }
        return;
      }
      case ParamType::Table:
        if (!node.is_table()) return type_error();
        if (p.table_spec) params(*node.as_table(), *p.table_spec, name, "[" + name + "]", file);
        return;  // a free table's contents: check_across_tables
      case ParamType::TableList: {
        const toml::array* arr = node.as_array();
        if (!arr || !arr->is_array_of_tables()) return type_error();
        const std::vector<std::string> types = table_type_names(p);
        for (size_t i = 0; i < arr->size(); ++i) {
          const toml::table& layer = *arr->get(i)->as_table();
          auto type = layer["type"].value<std::string>();
          std::string label = name + "[" + std::to_string(i) + "]";
          if (!type) {
            out_.push_back({pos_of(layer, file),
                            "'" + label + "' needs a string 'type'",
                            {"valid types: " + join(types)}});
          } else if (const SpecBase* declared = find_table_type(p, *type)) {
            // Its keys and values, as a component's: unknown keys, types, checks, required.
            params(layer, *declared, label, "'" + label + "' (type = \"" + *type + "\")", file,
                   "type");
          } else {
            Diagnostic d{pos_of(*layer.get("type"), file),
                         "'" + label + ".type' '" + *type + "' is not a layer type",
                         {}};
            auto s = suggest(*type, types);
            d.notes.push_back((s.empty() ? "" : "did you mean '" + s.front() + "'? ") +
                              "valid types: " + join(types));
            out_.push_back(d);
          }
        }
        return;
      }
    }
  }

  void string_checks(const toml::node& node, const std::string& v, const ParamInfo& p,
                     const std::string& name, const std::string& file) {
    if (!p.choices.empty() && std::find(p.choices.begin(), p.choices.end(), v) == p.choices.end()) {
      Diagnostic d{pos_of(node, file),
                   "'" + name + "' must be one of " + join(p.choices) + ", got " + describe(node),
                   {}};
      auto s = suggest(v, p.choices);
      if (!s.empty()) d.notes.push_back("did you mean '" + s.front() + "'?");
      out_.push_back(d);
    }
    if (p.is_path) {
      const fs::path resolved = resolve_path_param(node, v, base_dir_);
      if (!fs::exists(resolved)) {
        out_.push_back(
            {pos_of(node, file), "'" + name + "': " + resolved.string() + " does not exist", {}});
      }
    }
  }

  const Registry& registry_;
  std::string base_dir_;
  std::vector<Diagnostic>& out_;
};

}  // namespace

namespace {
MachineInfo& machine_storage() {
  static MachineInfo info;
  return info;
}
}  // namespace

void set_machine_info(MachineInfo info) {
  machine_storage() = info;
}
const MachineInfo& machine_info() {
  return machine_storage();
}

std::vector<Diagnostic> validate_recipe(const toml::table& recipe, const Registry& registry,
                                        const std::string& base_dir, const std::string& file) {
  std::vector<Diagnostic> out;
  Validator(registry, base_dir, out).recipe(recipe, file);
  return out;
}

}  // namespace fabric::exp
