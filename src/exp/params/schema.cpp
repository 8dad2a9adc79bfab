#include "exp/params/schema.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>

#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/toml_nodes.hpp"

namespace fabric::exp {

namespace {

/// toml++ writes doubles with 17 significant digits (0.10000000000000001); people read the
/// shortest decimal that reads back to the same double (0.1). Numbers outside strings only.
std::string shortest_numbers(const std::string& json) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < json.size();) {
    const char c = json[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < json.size())
        out += json[++i];
      else if (c == '"')
        in_string = false;
      ++i;
    } else if (c == '"') {
      in_string = true;
      out += c;
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t end = i + 1;
      while (end < json.size() && std::strchr("0123456789.eE+-", json[end])) ++end;
      const std::string number = json.substr(i, end - i);
      if (number.find_first_of(".eE") == std::string::npos) {
        out += number;
      } else {
        std::string shortest = fmt::format("{}", std::strtod(number.c_str(), nullptr));
        if (shortest.find_first_of(".eEn") == std::string::npos) shortest += ".0";  // a float
        out += shortest;
      }
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

toml::table object_schema(const SpecBase& spec, const std::string* kind);

toml::table param_schema(const ParamInfo& p) {
  toml::table s;
  auto number_checks = [&](toml::table& target) {
    for (const auto& c : p.checks) c.schema(target);
  };
  switch (p.type) {
    case ParamType::Bool:
      s.insert("type", "boolean");
      break;
    case ParamType::Int:
      s.insert("type", "integer");
      number_checks(s);
      break;
    case ParamType::Float:
      s.insert("type", "number");
      number_checks(s);
      break;
    case ParamType::String:
      s.insert("type", "string");
      break;
    case ParamType::IntOrString:
      s.insert("type", toml::array{"integer", "string"});
      break;
    case ParamType::IntList:
    case ParamType::FloatList:
    case ParamType::StringList: {
      s.insert("type", "array");
      toml::table items;
      items.insert("type", p.type == ParamType::IntList
                               ? "integer"
                               : (p.type == ParamType::FloatList ? "number" : "string"));
      number_checks(items);
      s.insert("items", items);
      if (p.nonempty) s.insert("minItems", 1);
      break;
    }
    case ParamType::Table:
      if (p.table_spec) {
        toml::table declared = object_schema(*p.table_spec, nullptr);
        declared.insert_or_assign("description", p.doc);
        return declared;
      }
      s.insert("type", "object");
      break;
    case ParamType::TableList: {
      s.insert("type", "array");
      toml::table items;
      items.insert("type", "object");
      if (p.table_types) {  // each table's `type`
        toml::array types;
        for (const auto& c : table_type_names(p)) types.push_back(c);
        items.insert("required", toml::array{"type"});
        items.insert("properties", toml::table{{"type", toml::table{{"enum", types}}}});
      }
      s.insert("items", items);
      break;
    }
  }
  if (!p.choices.empty()) {
    toml::array values;
    for (const auto& c : p.choices) {
      if (p.type == ParamType::IntOrString && !c.empty() &&
          std::all_of(c.begin(), c.end(), ::isdigit)) {
        values.push_back(int64_t(std::stoll(c)));
      } else {
        values.push_back(c);
      }
    }
    s.insert("enum", values);
  }
  if (p.default_value) s.insert("default", *p.default_value);
  s.insert("description", p.doc);
  return s;
}

toml::table object_schema(const SpecBase& spec, const std::string* kind) {
  toml::table obj, props;
  obj.insert("type", "object");
  obj.insert("additionalProperties", false);
  toml::array required;
  if (kind) {
    toml::table k;
    k.insert("const", *kind);
    props.insert("kind", k);  // not required here: a recipe with `extends` may inherit the kind
  }
  for (const auto& p : spec.params()) {
    props.insert(p.name, param_schema(p));
    for (const auto& a : p.aliases) props.insert(a, param_schema(p));
    if (p.required) required.push_back(p.name);
  }
  obj.insert("properties", props);
  if (!required.empty()) obj.insert("required", required);
  if (!spec.summary().empty()) obj.insert("description", spec.summary());
  return obj;
}

toml::table component_schema(const Registry& registry, const TableInfo& info) {
  toml::array branches;
  for (const auto& kind : registry.kinds(info.name)) {
    branches.push_back(object_schema(*registry.find(info.name, kind)->spec, &kind));
  }
  toml::table s;
  s.insert("type", "object");
  // anyOf: a table without `kind` (inherited through `extends`) matches every kind that has its
  // keys; a misspelt key matches none.
  s.insert("anyOf", branches);
  s.insert("description", info.summary);
  return s;
}

}  // namespace

std::string recipe_schema_json(const Registry& registry) {
  toml::table root, props;
  root.insert("$schema", "http://json-schema.org/draft-07/schema#");
  root.insert("$comment", "generated by `fabric-exp schema`; do not edit");
  root.insert("title", "fabric-exp recipe");
  root.insert("type", "object");
  root.insert("additionalProperties", false);
  toml::table extends;
  extends.insert("description", "Recipe file(s) this one builds on, merged depth-first.");
  extends.insert("oneOf", toml::array{toml::table{{"type", "string"}},
                                      toml::table{{"type", "array"},
                                                  {"items", toml::table{{"type", "string"}}}}});
  props.insert("extends", extends);
  toml::array required;
  for (const auto& info : registry.tables()) {
    if (info.shape == TableShape::Fixed) {
      props.insert(info.name, object_schema(*info.spec, nullptr));
    } else if (info.shape == TableShape::Component) {
      props.insert(info.name, component_schema(registry, info));
    } else {
      toml::table arr;
      arr.insert("type", "array");
      arr.insert("items", component_schema(registry, info));
      arr.insert("description", info.summary);
      props.insert(info.name, arr);
    }
    if (info.required) required.push_back(info.name);
  }
  root.insert("properties", props);
  // A recipe that extends another may leave the required tables to its base.
  root.insert("anyOf", toml::array{toml::table{{"required", toml::array{"extends"}}},
                                   toml::table{{"required", required}}});
  std::ostringstream os;
  os << toml::json_formatter(root);
  return shortest_numbers(os.str()) + "\n";
}

std::string reference_markdown(const Registry& registry, const std::string& filter) {
  const std::string only_table = filter.substr(0, filter.find('.'));
  const std::string only_kind =
      filter.find('.') == std::string::npos ? "" : filter.substr(filter.find('.') + 1);
  if (!only_table.empty() && !registry.table(only_table)) {
    auto s = suggest(only_table, registry.table_names());
    throw std::invalid_argument("no table [" + only_table + "]" +
                                (s.empty() ? "" : " (did you mean " + s.front() + "?)") +
                                "; tables: " + join(registry.table_names()));
  }
  if (!only_kind.empty() && !registry.find(only_table, only_kind)) {
    auto s = suggest(only_kind, registry.kinds(only_table));
    throw std::invalid_argument("no " + only_table + " kind '" + only_kind + "'" +
                                (s.empty() ? "" : " (did you mean " + s.front() + "?)") +
                                "; kinds: " + join(registry.kinds(only_table)));
  }
  std::ostringstream os;
  if (filter.empty())
    os << "# Recipe reference\n\n<!-- generated by `fabric-exp docs`; do not edit -->\n\n";
  std::function<void(const SpecBase&, const std::string&)> params_table =
      [&](const SpecBase& spec, const std::string& where) {
        if (spec.params().empty()) {
          os << "No parameters.\n\n";
          return;
        }
        os << "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
        for (const auto& p : spec.params()) {
          std::vector<std::string> allowed;
          for (const auto& c : p.checks) allowed.push_back(c.phrase);
          if (!p.choices.empty()) allowed.push_back(join(p.choices, ", "));
          if (p.table_types) allowed.push_back("type: " + join(table_type_names(p), ", "));
          if (p.nonempty) allowed.push_back("non-empty");
          if (p.is_path) allowed.push_back("existing file");
          std::string def = p.required ? "**required**" : "";
          if (p.default_value) {
            def = "`" + value_text(*p.default_value) + "`";
          }
          std::string name = "`" + p.name + "`";
          for (const auto& a : p.aliases) name += " (alias `" + a + "`)";
          os << "| " << name << " | " << type_name(p.type) << " | " << def << " | "
             << join(allowed, "; ") << " | " << p.doc << " |\n";
        }
        os << "\n";
        for (const auto& p : spec.params()) {
          if (!p.table_types) continue;
          os << "Each table of `" << p.name << "` by its `type`:\n\n";
          for (const SpecBase* type : p.table_types()) {
            std::vector<std::string> keys;
            for (const auto& k : type->params()) {
              std::vector<std::string> facts{type_name(k.type)};
              if (k.required) facts.push_back("required");
              if (k.default_value) facts.push_back("default " + value_text(*k.default_value));
              for (const auto& c : k.checks) facts.push_back(c.phrase);
              keys.push_back("`" + k.name + "` (" + join(facts, ", ") + ")");
            }
            os << "- `" << type->kind() << "`: " << type->summary()
               << (keys.empty() ? "" : " Keys: " + join(keys, ", ") + ".") << "\n";
          }
          os << "\n";
        }
        for (const auto& p : spec.params()) {
          if (!p.table_spec) continue;
          os << "### `[" << where << "." << p.name << "]`\n\n" << p.doc << "\n\n";
          params_table(*p.table_spec, where + "." + p.name);
        }
      };
  for (const auto& info : registry.tables()) {
    if (!only_table.empty() && info.name != only_table) continue;
    std::string header =
        info.shape == TableShape::ComponentArray ? "[[" + info.name + "]]" : "[" + info.name + "]";
    os << "## `" << header << "`" << (info.required ? " (required)" : "") << "\n\n"
       << info.summary << "\n\n";
    if (info.shape == TableShape::Fixed) {
      params_table(*info.spec, info.name);
      continue;
    }
    for (const auto& kind : registry.kinds(info.name)) {
      if (!only_kind.empty() && kind != only_kind) continue;
      const auto* e = registry.find(info.name, kind);
      os << "### `kind = \"" << kind << "\"`\n\n" << e->spec->summary() << "\n\n";
      if (!e->spec->needs_tasks().empty())
        os << "Works on " << join(e->spec->needs_tasks(), ", ") << " data.\n\n";
      if (!e->spec->gives_task().empty()) os << "Gives " << e->spec->gives_task() << " data.\n\n";
      params_table(*e->spec, info.name);
    }
  }
  return os.str();
}

}  // namespace fabric::exp
