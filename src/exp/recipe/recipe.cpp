#include "exp/recipe/recipe.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exp/recipe/search_space.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "store/folder_name.hpp"

namespace fs = std::filesystem;

namespace fabric::exp {

namespace {

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

std::string a_type(ParamType t) {
  std::string n = type_name(t);
  return (n[0] == 'i' ? "an " : "a ") + n;
}

// ---- loading and merging --------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Why `text` is not a TOML file to parse, or "": a binary file (a NUL byte) or one that is not
/// UTF-8 is one error, never an excerpt of its bytes.
std::string not_text_problem(const std::string& text) {
  if (text.find('\0') != std::string::npos)
    return "this is not a text file (it contains NUL bytes): give a TOML recipe";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xe  ? 3
                     : (c >> 3) == 0x1e ? 4
                                        : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (!ok)
      return "this is not a UTF-8 text file (byte " + std::to_string(i) + "): give a TOML recipe";
    i += n;
  }
  return "";
}

std::optional<toml::table> parse_file(const std::string& path, std::vector<Diagnostic>& out) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    out.push_back({{path, 0, 0}, "this is a folder, not a recipe file", {}});
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.push_back(
        {{path, 0, 0}, std::string("cannot read the recipe: ") + std::strerror(errno), {}});
    return std::nullopt;
  }
  const std::string text = read_file(path);
  if (auto problem = not_text_problem(text); !problem.empty()) {
    out.push_back({{path, 0, 0}, problem, {}});
    return std::nullopt;
  }
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    out.push_back({{path, int(e.source().begin.line), int(e.source().begin.column)},
                   std::string(e.description()),
                   {}});
    return std::nullopt;
  }
}

// Moves `value` into table[key]. Nodes are moved, never copied: toml++ drops the source position
// of a copied node, and positions are what diagnostics point at.
void move_into(toml::table& table, const std::string& key, toml::node&& value) {
  std::move(value).visit([&](auto&& v) { table.insert_or_assign(key, std::move(v)); });
}

// A derived recipe that picks another kind of component starts that table afresh: the base's
// keys belong to the other kind.
bool switches_kind(const toml::node& base, const toml::node& child) {
  auto a = base.as_table()->get("kind"), b = child.as_table()->get("kind");
  return a && b && a->is_string() && b->is_string() &&
         a->as_string()->get() != b->as_string()->get();
}

// Child values win; tables merge recursively; arrays and scalars are replaced.
void merge_into(toml::table& base, toml::table&& child) {
  for (auto&& [key, value] : child) {
    auto* existing = base.get(key);
    if (existing && existing->is_table() && value.is_table() && !switches_kind(*existing, value)) {
      merge_into(*existing->as_table(), std::move(*value.as_table()));
    } else {
      move_into(base, std::string(key.str()), std::move(value));
    }
  }
}

// ---- aliases --------------------------------------------------------------------------------

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

void canonicalize_table(toml::table& t, const SpecBase* spec) {
  if (!spec) return;
  for (const auto& p : spec->params()) {
    for (const auto& a : p.aliases) {
      toml::node* n = t.get(a);
      if (!n || t.contains(p.name)) continue;  // both spellings: validation says "set twice"
      move_into(t, p.name, std::move(*n));
      t.erase(a);
    }
  }
}

/// An alias is another spelling of a name: every table of `root` keeps the canonical names only,
/// so everything after loading (defaults, the engine, `config show`, params) sees one spelling.
/// `base` is the recipe `root` extends (kinds of tables `root` does not name), or null.
void canonicalize_aliases(toml::table& root, const Registry& registry, const toml::table* base) {
  for (const auto& info : registry.tables()) {
    toml::node* node = root.get(info.name);
    if (!node) continue;
    const toml::node* fallback = base ? base->get(info.name) : nullptr;
    if (info.shape == TableShape::Fixed) {
      if (auto* t = node->as_table()) canonicalize_table(*t, info.spec);
    } else if (info.shape == TableShape::Component) {
      if (auto* t = node->as_table())
        canonicalize_table(*t, component_spec(registry, info.name, *t, fallback));
    } else if (auto* arr = node->as_array()) {
      for (size_t i = 0; i < arr->size(); ++i) {
        auto* t = arr->get(i)->as_table();
        const toml::node* item_base =
            fallback && fallback->is_array() ? fallback->as_array()->get(i) : nullptr;
        if (t) canonicalize_table(*t, component_spec(registry, info.name, *t, item_base));
      }
    }
  }
}

std::optional<toml::table> load_with_extends(const std::string& path,
                                             std::vector<std::string>& stack,
                                             std::vector<Diagnostic>& out,
                                             const Registry& registry) {
  auto parsed = parse_file(path, out);
  if (!parsed) return std::nullopt;
  if (!parsed->contains("extends")) {
    canonicalize_aliases(*parsed, registry, nullptr);
    return parsed;
  }
  toml::table merged;
  if (const toml::node* ext = parsed->get("extends")) {
    std::vector<const toml::node*> bases;
    if (ext->is_string()) {
      bases.push_back(ext);
    } else if (auto arr = ext->as_array()) {
      for (const auto& b : *arr) bases.push_back(&b);
    }
    if (bases.empty() ||
        std::any_of(bases.begin(), bases.end(), [](auto* b) { return !b->is_string(); })) {
      out.push_back({pos_of(*ext, path),
                     "'extends' must be a file name or a list of file names, got " + kind_of(*ext),
                     {}});
    }
    for (const toml::node* b : bases) {
      if (!b->is_string()) continue;
      fs::path base_path = fs::path(path).parent_path() / b->as_string()->get();
      if (!fs::exists(base_path)) {
        out.push_back({pos_of(*b, path),
                       "cannot extend '" + b->as_string()->get() + "': " + base_path.string() +
                           " does not exist",
                       {}});
        continue;
      }
      std::string canonical = fs::canonical(base_path).string();
      if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
        std::vector<std::string> cycle;
        for (const auto& s : stack) cycle.push_back(fs::path(s).filename().string());
        cycle.push_back(base_path.filename().string());
        out.push_back({pos_of(*b, path), "extends cycle: " + join(cycle, " -> "), {}});
        continue;
      }
      stack.push_back(canonical);
      auto base = load_with_extends(base_path.string(), stack, out, registry);
      stack.pop_back();
      if (base) merge_into(merged, std::move(*base));
    }
  }
  parsed->erase("extends");
  canonicalize_aliases(*parsed, registry, &merged);
  merge_into(merged, std::move(*parsed));
  return merged;
}

// ---- overrides ------------------------------------------------------------------------------

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
  if (path.size() != (element ? 3u : 2u)) return nullptr;
  if (info->shape == TableShape::Fixed) return info->spec;
  const toml::node* t = walk(root, path, element ? 2 : 1);
  return t && t->is_table() ? component_spec(registry, path[0], *t->as_table(), nullptr) : nullptr;
}

// Whether `path` names a declared parameter (so `a.b=v` may set a key the file leaves at default).
bool is_declared(toml::table& root, const std::vector<std::string>& path,
                 const Registry& registry) {
  if (path.size() != 2) return false;
  const SpecBase* spec = spec_declaring(root, path, registry);
  return spec && spec->find(path[1]);
}

/// `optimizer.learning_rate` -> `optimizer.lr`: the key of an override path in its canonical
/// spelling.
void canonicalize_path(toml::table& root, std::vector<std::string>& path,
                       const Registry& registry) {
  if (const SpecBase* spec = spec_declaring(root, path, registry)) {
    if (const ParamInfo* p = spec->find(path.back())) path.back() = p->name;
  }
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
    cross_checks(root, file);
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
    params(t, *entry->spec, where, "[" + where + "] (kind = \"" + k + "\")", file,
           /*skip_kind=*/true);
  }

  void params(const toml::table& t, const SpecBase& spec, const std::string& where,
              const std::string& label, const std::string& file, bool skip_kind = false) {
    std::set<const ParamInfo*> seen;
    for (const auto& [key, node] : t) {
      const std::string k(key.str());
      if (skip_kind && k == "kind") continue;
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
        return;  // its contents: cross_checks
      case ParamType::TableList: {
        const toml::array* arr = node.as_array();
        if (!arr || !arr->is_array_of_tables()) return type_error();
        static const std::vector<std::string> layer_types = {
            "linear",  "conv2d",    "batchnorm", "layernorm", "relu",      "gelu",
            "dropout", "maxpool2d", "avgpool",   "flatten",   "embedding", "residual"};
        for (size_t i = 0; i < arr->size(); ++i) {
          const toml::table& layer = *arr->get(i)->as_table();
          auto type = layer["type"].value<std::string>();
          std::string label = name + "[" + std::to_string(i) + "]";
          if (!type) {
            out_.push_back({pos_of(layer, file),
                            "'" + label + "' needs a string 'type'",
                            {"valid types: " + join(layer_types)}});
          } else if (std::find(layer_types.begin(), layer_types.end(), *type) ==
                     layer_types.end()) {
            Diagnostic d{pos_of(*layer.get("type"), file),
                         "'" + label + ".type' '" + *type + "' is not a layer type",
                         {}};
            auto s = suggest(*type, layer_types);
            d.notes.push_back((s.empty() ? "" : "did you mean '" + s.front() + "'? ") +
                              "valid types: " + join(layer_types));
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

  void cross_checks(const toml::table& root, const std::string& file) {
    if (const auto* params = root["sweep"]["parameters"].as_table()) {
      const size_t before = out_.size();
      auto space = parse_search_space(*params, file, out_);
      if (out_.size() == before) check_sweep(root, space, registry_, base_dir_, file, out_);
    } else if (root["sweep"].is_table()) {
      check_sweep(root, {}, registry_, base_dir_, file, out_);
    }
    const toml::node* run = root.get("run");
    if (!root["run"]["max_epochs"] && !root["run"]["max_steps"]) {
      out_.push_back({run ? pos_of(*run, file) : SourcePos{file, 0, 0},
                      "the recipe sets neither run.max_epochs nor run.max_steps",
                      {"add e.g. [run] max_epochs = 10"}});
    }
    if (auto name = root["run"]["name"].value<std::string>()) {
      if (auto problem = store::folder_name_problem(*name); !problem.empty()) {
        out_.push_back({pos_of(*root["run"]["name"].node(), file),
                        "'run.name' names the run's folder inside the runs folder, and " +
                            describe(*root["run"]["name"].node()) + " cannot: " + problem,
                        {"use a plain name such as \"baseline\"; 'run.output_dir' chooses where "
                         "runs go"}});
      }
    }
    auto precision = root["fabric"]["precision"].value<std::string>();
    const int gpus = machine_info().cuda_devices;
    auto accelerator = root["fabric"]["accelerator"].value<std::string>();
    // "auto" is what it resolves to on this machine, before the checks that depend on it.
    const std::string device_kind =
        accelerator.value_or("auto") == "auto" ? (gpus > 0 ? "cuda" : "cpu") : *accelerator;
    if (precision && *precision == "16-true" && device_kind == "cpu") {
      out_.push_back({pos_of(*root["fabric"]["precision"].node(), file),
                      "'fabric.precision' = \"16-true\" needs a CUDA device: LibTorch has no fp16 "
                      "CPU training kernels" +
                          std::string(accelerator.value_or("auto") == "auto"
                                          ? " (accelerator \"auto\" is the CPU on this machine)"
                                          : ""),
                      {"use \"bf16-true\" or \"bf16-mixed\" on CPU"}});
    }
    if (accelerator && (*accelerator == "cuda" || *accelerator == "gpu") && gpus == 0) {
      out_.push_back(
          {pos_of(*root["fabric"]["accelerator"].node(), file),
           "'fabric.accelerator' = \"" + *accelerator + "\" but this machine has no CUDA device",
           {"use \"cpu\" or \"auto\""}});
    }
    if (accelerator && *accelerator != "cpu" && gpus > 0) {
      auto wanted = root["fabric"]["devices"].value<int64_t>();
      if (wanted && *wanted > gpus) {
        out_.push_back({pos_of(*root["fabric"]["devices"].node(), file),
                        "'fabric.devices' = " + std::to_string(*wanted) + " but this machine has " +
                            std::to_string(gpus) + " CUDA device(s)",
                        {}});
      }
    }
    if (root["run"]["cuda_graph"].value<bool>().value_or(false)) {
      out_.push_back({pos_of(*root["run"]["cuda_graph"].node(), file),
                      "'run.cuda_graph' = true: capturing the training step in a CUDA graph is "
                      "not supported yet",
                      {"remove the key or set it to false"}});
    }
    auto strategy = root["fabric"]["strategy"].value<std::string>();
    auto devices = root["fabric"]["devices"].value<int64_t>();
    if (strategy && *strategy == "ddp" && devices && *devices < 1) {
      out_.push_back({pos_of(*root["fabric"]["devices"].node(), file),
                      "'fabric.devices' must be >= 1 with strategy \"ddp\"",
                      {}});
    }
  }

  const Registry& registry_;
  std::string base_dir_;
  std::vector<Diagnostic>& out_;
};

void fill_defaults(toml::table& t, const SpecBase& spec) {
  for (const auto& p : spec.params()) {
    bool present = false;
    for (const auto& a : p.aliases) present = present || t.contains(a);
    if (!present && !t.contains(p.name) && p.default_value) t.insert(p.name, *p.default_value);
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

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides,
                   const Registry& registry) {
  std::vector<Diagnostic> out;
  if (!fs::exists(path)) throw RecipeError({{{path, 0, 0}, "recipe file not found", {}}});
  if (fs::is_directory(path))
    throw RecipeError({{{path, 0, 0}, "is a folder, not a recipe file", {}}});
  Recipe recipe;
  recipe.path = path;
  recipe.text = read_file(path);
  recipe.overrides = overrides;
  std::vector<std::string> stack{fs::canonical(path).string()};
  auto merged = load_with_extends(path, stack, out, registry);
  if (!merged) throw RecipeError(out);
  std::vector<Override> parsed;
  for (const auto& arg : overrides) {
    try {
      parsed.push_back(parse_override(arg));
    } catch (const RecipeError& e) {
      out.insert(out.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  for (auto& o : parsed) apply_override(*merged, o, registry, out);
  if (!out.empty()) throw RecipeError(out);
  auto problems = validate_recipe(*merged, registry, fs::path(path).parent_path().string(), path);
  if (!problems.empty()) throw RecipeError(problems);
  recipe.table = std::move(*merged);
  return recipe;
}

std::vector<Diagnostic> validate_recipe(const toml::table& recipe, const Registry& registry,
                                        const std::string& base_dir, const std::string& file) {
  std::vector<Diagnostic> out;
  Validator(registry, base_dir, out).recipe(recipe, file);
  return out;
}

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
  for (const auto& info : builtin_registry().tables()) {
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
