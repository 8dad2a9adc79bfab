// Overrides (`a.b=v`, `+a.b=v`, `++a.b=v`, `~a.b`) and the canonical spelling of a recipe path.
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

std::vector<std::string> split_path(const std::string& dotted) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : dotted) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

Diagnostic override_error(const std::string& arg, const std::string& message,
                          std::vector<std::string> notes = {}) {
  return {{"override '" + arg + "'", 0, 0}, message, std::move(notes)};
}

toml::node* walk(toml::table& root, const std::vector<std::string>& path, size_t depth) {
  toml::node* node = &root;
  for (size_t i = 0; i < depth && node; ++i) {
    if (auto t = node->as_table()) {
      node = t->get(path[i]);
    } else if (auto a = node->as_array()) {
      char* end = nullptr;
      long idx = std::strtol(path[i].c_str(), &end, 10);
      node = (*end == '\0' && idx >= 0 && size_t(idx) < a->size()) ? a->get(size_t(idx)) : nullptr;
    } else {
      node = nullptr;
    }
  }
  return node;
}

/// The spec that declares the last key of `path`: a fixed table's (`run.seed`), a component
/// table's by its kind (`optimizer.lr`) or an array element's by its kind (`metrics.0.k`); null
/// when there is none.
const SpecBase* spec_declaring(toml::table& root, const std::vector<std::string>& path,
                               const Registry& registry) {
  const TableInfo* info = path.size() >= 2 ? registry.table(path[0]) : nullptr;
  if (!info) return nullptr;
  const bool element = info->shape == TableShape::ComponentArray;
  const size_t depth = element ? 3u : 2u;
  if (path.size() < depth) return nullptr;
  const SpecBase* spec = nullptr;
  if (info->shape == TableShape::Fixed) {
    spec = info->spec;
  } else {
    const toml::node* t = walk(root, path, depth - 1);
    spec =
        t && t->is_table() ? component_spec(registry, path[0], *t->as_table(), nullptr) : nullptr;
  }
  // Declared sub-tables ([fabric.fsdp]) hold the rest of the path.
  for (size_t i = depth - 1; spec && i + 1 < path.size(); ++i) {
    const ParamInfo* p = spec->find(path[i]);
    spec = p ? p->table_spec : nullptr;
  }
  return spec;
}

// Whether `path` names a declared parameter (so `a.b=v` may set a key the file leaves at default).
bool is_declared(toml::table& root, const std::vector<std::string>& path,
                 const Registry& registry) {
  if (path.size() < 2) return false;
  const SpecBase* spec = spec_declaring(root, path, registry);
  return spec && spec->find(path.back());
}

/// `optimizer.learning_rate` -> `optimizer.lr`: the key of an override path in its canonical
/// spelling.
void canonicalize_path(toml::table& root, std::vector<std::string>& path,
                       const Registry& registry) {
  if (const SpecBase* spec = spec_declaring(root, path, registry)) {
    if (const ParamInfo* p = spec->find(path.back())) path.back() = p->name;
  }
}

/// [sweep.parameters] keys are recipe paths, nested (`[sweep.parameters.optimizer]`) or dotted
/// (`"optimizer.learning_rate"`): a leaf spelled by an alias takes its canonical name, so the
/// sweep's trials set the key the recipe has.
void canonicalize_sweep_leaves(toml::table& root, toml::table& table,
                               const std::vector<std::string>& prefix, const Registry& registry) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : table) keys.emplace_back(k.str());
  for (const auto& key : keys) {
    toml::node* node = table.get(key);
    std::vector<std::string> path = prefix;
    for (auto& part : split_path(key)) path.push_back(part);
    if (auto* sub = node->as_table(); sub && !sub->contains("distribution")) {
      canonicalize_sweep_leaves(root, *sub, path, registry);
      continue;
    }
    const std::string written = path.back();
    canonicalize_path(root, path, registry);
    if (path.back() == written ||
        table.contains(key.substr(0, key.size() - written.size()) + path.back())) {
      continue;  // canonical already, or both spellings (validation says so)
    }
    move_into(table, key.substr(0, key.size() - written.size()) + path.back(), std::move(*node));
    table.erase(key);
  }
}

void canonicalize_sweep_parameters(toml::table& root, const Registry& registry) {
  if (auto* params = root["sweep"]["parameters"].as_table())
    canonicalize_sweep_leaves(root, *params, {}, registry);
}

void apply_override(toml::table& root, Override& o, const Registry& registry,
                    std::vector<Diagnostic>& out) {
  canonicalize_path(root, o.path, registry);
  const std::string dotted = join(o.path, ".");
  toml::node* parent = walk(root, o.path, o.path.size() - 1);
  toml::node* target = parent ? walk(root, o.path, o.path.size()) : nullptr;
  switch (o.op) {
    case Override::Op::Remove:
      if (!target) {
        out.push_back(
            override_error(o.text, "could not remove '" + dotted + "': it is not in the recipe"));
        return;
      }
      if (auto t = parent->as_table()) {
        t->erase(o.path.back());
      } else {
        parent->as_array()->erase(parent->as_array()->begin() + std::stol(o.path.back()));
      }
      return;
    case Override::Op::Set:
      if (!target && !is_declared(root, o.path, registry)) {
        std::vector<std::string> notes;
        if (o.path.size() == 2) {  // suggest a declared key of that table
          if (const SpecBase* spec = spec_declaring(root, o.path, registry)) {
            auto s = suggest(o.path[1], spec->names());
            if (!s.empty()) {
              notes.push_back("did you mean '" + o.path[0] + "." + s.front() + "'?");
            } else {
              notes.push_back("keys of [" + o.path[0] + "]: " + join(spec->names()));
            }
          }
        }
        // Only what would work: '+' adds keys the recipe may have but does not, and this one is
        // not declared anywhere, so adding it would fail too.
        out.push_back(override_error(o.text, "key '" + dotted + "' is not in the recipe", notes));
        return;
      }
      break;
    case Override::Op::Add:
      if (target) {
        const SourcePos where = pos_of(*target, "");
        const std::string at = where.file.empty()
                                   ? ""
                                   : " at " + where.file + ":" + std::to_string(where.line) + ":" +
                                         std::to_string(where.column);
        out.push_back(override_error(o.text,
                                     "could not add '" + dotted + "': it is already set" + at,
                                     {"to change it, use " + o.text.substr(1) + " (or ++" +
                                      o.text.substr(1) + " to add or set)"}));
        return;
      }
      break;
    case Override::Op::AddOrSet:
      break;
  }
  // Create missing tables on the way, then set.
  toml::table* t = &root;
  for (size_t i = 0; i + 1 < o.path.size(); ++i) {
    toml::node* next = t->get(o.path[i]);
    if (!next) {
      t->insert(o.path[i], toml::table{});
      next = t->get(o.path[i]);
    }
    if (next->is_array()) {  // [[metrics]] element by index
      toml::node* e = walk(root, o.path, i + 2);
      if (!e || !e->is_table()) {
        out.push_back(
            override_error(o.text, "'" + join({o.path.begin(), o.path.begin() + long(i) + 2}, ".") +
                                       "' is not a table in the recipe"));
        return;
      }
      t = e->as_table();
      ++i;
      continue;
    }
    if (!next->is_table()) {
      out.push_back(
          override_error(o.text, "'" + o.path[i] + "' is " + kind_of(*next) + ", not a table"));
      return;
    }
    t = next->as_table();
  }
  move_into(*t, o.path.back(), std::move(*o.holder.get("v")));
}

}  // namespace detail

using namespace detail;

Override parse_override(const std::string& arg) {
  Override o;
  o.text = arg;
  std::string rest = arg;
  if (rest.rfind("++", 0) == 0) {
    o.op = Override::Op::AddOrSet;
    rest = rest.substr(2);
  } else if (rest.rfind("+", 0) == 0) {
    o.op = Override::Op::Add;
    rest = rest.substr(1);
  } else if (rest.rfind("~", 0) == 0) {
    o.op = Override::Op::Remove;
    rest = rest.substr(1);
  }
  size_t eq = rest.find('=');
  std::string key = rest.substr(0, eq);
  if (o.op == Override::Op::Remove) {
    if (eq != std::string::npos && eq + 1 < rest.size()) {
      throw RecipeError({override_error(arg, "a removal takes no value: use ~" + key)});
    }
  } else if (eq == std::string::npos) {
    throw RecipeError({override_error(arg, "expected key=value, +key=value, ++key=value or ~key")});
  }
  o.path = split_path(key);
  for (const auto& part : o.path) {
    bool ok = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!ok)
      throw RecipeError({override_error(
          arg, "'" + key + "' is not a valid key path (use dotted names: optimizer.lr)")});
  }
  if (o.op != Override::Op::Remove) {
    std::string rhs = rest.substr(eq + 1);
    o.holder = parse_command_line_value(rhs, "override '" + arg + "'");
    if (o.holder.size() != 1 || !o.holder.contains("v")) {
      throw RecipeError({override_error(arg, "the value '" + rhs + "' is not one TOML value")});
    }
  }
  return o;
}

std::string canonical_path(toml::table& recipe, const std::string& dotted,
                           const Registry& registry) {
  auto path = split_path(dotted);
  canonicalize_path(recipe, path, registry);
  return join(path, ".");
}

}  // namespace fabric::exp
