#include "exp/recipe/search_space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "exp/components/sweep/sweep.hpp"
#include "exp/recipe/recipe.hpp"
#include "exp/recipe/toml_nodes.hpp"

namespace fabric::exp {

namespace {

const char* kind_name(const Dimension& d) {
  switch (d.kind) {
    case Dimension::Kind::Uniform:
      return d.log ? "log_uniform" : "uniform";
    case Dimension::Kind::IntUniform:
      return d.log ? "int_log_uniform" : "int_uniform";
    default:
      return "choice";
  }
}

std::string number_text(double v, bool integer) {
  if (integer) return std::to_string(int64_t(v));
  return value_text(toml::value<double>(v));
}

/// One command-line value as a node (parse_command_line_value); text that is not one TOML value
/// stays a string.

toml::node* walk_or_create(toml::table& root, const std::vector<std::string>& parts) {
  toml::node* node = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (auto* t = node->as_table()) {
      if (!t->contains(parts[i])) t->insert(parts[i], toml::table{});
      node = t->get(parts[i]);
    } else if (auto* a = node->as_array()) {
      char* end = nullptr;
      const long idx = std::strtol(parts[i].c_str(), &end, 10);
      if (*end != '\0' || idx < 0 || size_t(idx) >= a->size()) return nullptr;
      node = a->get(size_t(idx));
    } else {
      return nullptr;
    }
  }
  return node;
}

std::vector<std::string> split_dots(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(path.substr(start, dot - start));
  parts.push_back(path.substr(start));
  return parts;
}

/// Sets the recipe key `path` to `value`; false when the path crosses a value that is not a table.
bool set_path(toml::table& root, const std::string& path, const toml::node& value) {
  auto parts = split_dots(path);
  toml::node* parent = walk_or_create(root, parts);
  auto* t = parent ? parent->as_table() : nullptr;
  if (!t) return false;
  value.visit([&](const auto& v) { t->insert_or_assign(parts.back(), v); });
  return true;
}

void read_dimension(const std::string& path, const toml::node& node, const std::string& file,
                    SearchSpace& space, std::vector<Diagnostic>& out) {
  const std::string name = "sweep.parameters." + path;
  auto choice = [&](const toml::array& values, const toml::node& at) {
    if (values.empty()) {
      out.push_back({pos_of(at, file), "'" + name + "' lists no values", {}});
      return;
    }
    Dimension d;
    d.path = path;
    d.pos = pos_of(at, file);
    for (const auto& v : values) d.values.push_back(value_text(v));
    space.push_back(std::move(d));
  };
  if (const auto* arr = node.as_array()) return choice(*arr, node);
  const auto* t = node.as_table();
  if (!t) {
    out.push_back({pos_of(node, file),
                   "'" + name +
                       "' must be a list of values or a { distribution, min, max } "
                       "table, got " +
                       kind_of(node) + " (" + exp::describe(node) + ")",
                   {"to fix one value, set it in the recipe; to sweep it, write [" +
                    exp::describe(node) + ", ...]"}});
    return;
  }
  static const std::vector<std::string> keys{"distribution", "min", "max", "values"};
  for (const auto& [k, v] : *t) {
    const std::string key(k.str());
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      Diagnostic d{key_pos(k, v, file), "unknown key '" + key + "' in '" + name + "'", {}};
      auto s = suggest(key, keys);
      d.notes.push_back((s.empty() ? "" : "did you mean '" + s.front() + "'? ") +
                        "valid keys: " + join(keys));
      out.push_back(d);
      return;
    }
  }
  if (const auto* values = (*t)["values"].as_array()) {
    if (t->contains("distribution")) {
      out.push_back({pos_of(*t->get("values"), file),
                     "'" + name + "' has both 'values' and 'distribution': give one",
                     {}});
      return;
    }
    return choice(*values, *t->get("values"));
  }
  if (t->contains("values")) {
    out.push_back({pos_of(*t->get("values"), file), "'" + name + ".values' must be a list", {}});
    return;
  }
  const auto* dist = t->get("distribution");
  static const std::vector<std::string> dists{"uniform", "log_uniform", "int_uniform",
                                              "int_log_uniform"};
  const auto kind = dist ? dist->value<std::string>() : std::nullopt;
  if (!kind || std::find(dists.begin(), dists.end(), *kind) == dists.end()) {
    Diagnostic d{dist ? pos_of(*dist, file) : pos_of(*t, file),
                 dist ? "'" + name + ".distribution' must be one of " + join(dists) + ", got " +
                            exp::describe(*dist)
                      : "'" + name + "' needs 'values' or a 'distribution'",
                 {}};
    if (kind) {
      auto s = suggest(*kind, dists);
      if (!s.empty()) d.notes.push_back("did you mean '" + s.front() + "'?");
    }
    out.push_back(d);
    return;
  }
  Dimension d;
  d.path = path;
  d.pos = pos_of(*t, file);
  d.kind = kind->rfind("int_", 0) == 0 ? Dimension::Kind::IntUniform : Dimension::Kind::Uniform;
  d.log = kind->find("log_") != std::string::npos;
  const size_t before = out.size();
  auto bound = [&](const char* key, double& into) {
    const auto* n = t->get(key);
    const bool ok = n && (d.kind == Dimension::Kind::IntUniform ? n->is_integer() : n->is_number());
    if (!ok) {
      out.push_back({n ? pos_of(*n, file) : pos_of(*t, file),
                     "'" + name + "." + key + "' must be " +
                         (d.kind == Dimension::Kind::IntUniform ? "an integer" : "a number") +
                         (n ? ", got " + kind_of(*n) : " (it is missing)"),
                     {}});
      return;
    }
    into = n->is_integer() ? double(n->as_integer()->get()) : n->as_floating_point()->get();
  };
  bound("min", d.low);
  bound("max", d.high);
  if (out.size() != before) return;
  if (!(d.low < d.high)) {
    out.push_back({pos_of(*t, file),
                   "'" + name + "': min (" + fmt::format("{}", d.low) + ") must be below max (" +
                       fmt::format("{}", d.high) + ")",
                   {}});
    return;
  }
  if (d.log && d.low <= 0) {
    out.push_back({pos_of(*t->get("min"), file),
                   "'" + name + "': a " + *kind + " distribution needs min > 0, got " +
                       fmt::format("{}", d.low),
                   {}});
    return;
  }
  space.push_back(std::move(d));
}

void read_table(const toml::table& table, const std::string& prefix, const std::string& file,
                SearchSpace& space, std::vector<Diagnostic>& out) {
  for (const auto& [k, node] : table) {
    const std::string path =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto* t = node.as_table();
    if (t && !t->contains("distribution") && !t->contains("values") && !t->empty()) {
      read_table(*t, path, file, space, out);  // optimizer.lr = ... written as nested tables
    } else {
      read_dimension(path, node, file, space, out);
    }
  }
}

}  // namespace

size_t Dimension::count() const {
  if (kind == Kind::Choice) return values.size();
  if (kind == Kind::IntUniform && !log) return size_t(high - low) + 1;
  return 0;
}

std::string Dimension::value(size_t i) const {
  if (kind == Kind::Choice) return values.at(i);
  return std::to_string(int64_t(low) + int64_t(i));
}

std::string Dimension::describe() const {
  if (kind == Kind::Choice) return "[" + join(values) + "]";
  const bool integer = kind == Kind::IntUniform;
  return std::string(kind_name(*this)) + "(" + number_text(low, integer) + ", " +
         number_text(high, integer) + ")";
}

SearchSpace parse_search_space(const toml::table& parameters, const std::string& file,
                               std::vector<Diagnostic>& out) {
  SearchSpace space;
  read_table(parameters, "", file, space, out);
  // Declaration order, not the table's (sorted) key order: the last parameter varies fastest.
  // Dimensions without a position (merged from the command line) keep their order, after.
  std::stable_sort(space.begin(), space.end(), [](const Dimension& a, const Dimension& b) {
    const bool ka = a.pos.line > 0, kb = b.pos.line > 0;
    if (ka != kb) return ka;
    return ka && std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  return space;
}

namespace {
const toml::node* find_parameter(const toml::table& parameters, const std::string& path) {
  if (const toml::node* n = parameters.get(path)) return n;
  const toml::node* n = &parameters;
  for (const auto& part : split_dots(path)) {
    n = n->is_table() ? n->as_table()->get(part) : nullptr;
    if (!n) return nullptr;
  }
  return n;
}

std::string quoted_key(const std::string& key) {
  std::string s = "\"";
  for (char c : key) s += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return s + "\"";
}

std::string inline_value(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    std::string s = "{ ";
    bool first = true;
    for (const auto& [k, v] : *t) {
      s += (first ? "" : ", ") + std::string(k.str()) + " = " + inline_value(v);
      first = false;
    }
    return s + " }";
  }
  return value_text(node);
}
}  // namespace

std::string sweep_spec_text(const toml::table& sweep, const SearchSpace& order) {
  toml::table rest = sweep;
  rest.erase("parameters");
  std::string text = to_toml(rest);
  const toml::table* parameters = sweep["parameters"].as_table();
  if (!parameters) return text;
  text += "\n[parameters]\n";
  for (const auto& d : order) {
    if (const toml::node* n = find_parameter(*parameters, d.path))
      text += quoted_key(d.path) + " = " + inline_value(*n) + "\n";
  }
  return text;
}

void merge_into_sweep(toml::table& recipe, const SearchSpace& dims) {
  if (!recipe["sweep"].is_table()) recipe.insert_or_assign("sweep", toml::table{});
  auto& sweep = *recipe["sweep"].as_table();
  if (!sweep["parameters"].is_table()) sweep.insert_or_assign("parameters", toml::table{});
  auto& params = *sweep["parameters"].as_table();
  for (const auto& d : dims) {
    // Drop an earlier declaration of the same key, nested or dotted.
    params.erase(d.path);
    auto parts = split_dots(d.path);
    toml::table* t = &params;
    for (size_t i = 0; t && i + 1 < parts.size(); ++i) t = (*t)[parts[i]].as_table();
    if (t) t->erase(parts.back());
    if (d.kind == Dimension::Kind::Choice) {
      toml::array values;
      for (const auto& v : d.values) {
        parse_value(v)->visit([&](const auto& n) { values.push_back(n); });
      }
      params.insert(d.path, std::move(values));
    } else {
      toml::table dist;
      dist.insert("distribution", kind_name(d));
      if (d.kind == Dimension::Kind::IntUniform) {
        dist.insert("min", int64_t(d.low));
        dist.insert("max", int64_t(d.high));
      } else {
        dist.insert("min", d.low);
        dist.insert("max", d.high);
      }
      params.insert(d.path, std::move(dist));
    }
  }
}

toml::table without_sweep(const toml::table& recipe) {
  toml::table out = recipe;
  out.erase("sweep");
  return out;
}

void check_sweep(const toml::table& recipe, const SearchSpace& space, const Registry& registry,
                 const std::string& base_dir, const std::string& file,
                 std::vector<Diagnostic>& out) {
  static const toml::table empty;
  const toml::table& sweep = recipe["sweep"].is_table() ? *recipe["sweep"].as_table() : empty;
  const SourcePos at = recipe["sweep"].is_table() ? pos_of(sweep, file) : SourcePos{file, 0, 0};
  auto pos = [&](const char* key) { return sweep.get(key) ? pos_of(*sweep.get(key), file) : at; };
  const SweepConfig defaults{};  // the declaration's defaults (the table may still hold errors)
  const std::string method = sweep["method"].value_or(defaults.method);
  const auto objective = sweep["objective"].value<std::string>();
  const auto direction = sweep["direction"].value<std::string>();
  const std::string pruner = sweep["pruner"].value_or(defaults.pruner);
  const std::string launcher = sweep["launcher"].value_or(defaults.launcher);

  if (objective && !direction) {
    out.push_back({pos("objective"),
                   "'sweep.objective' needs 'sweep.direction'",
                   {"add direction = \"maximize\" (accuracy) or \"minimize\" (loss)"}});
  }
  if (direction && !objective) {
    out.push_back({pos("direction"), "'sweep.direction' is set but 'sweep.objective' is not", {}});
  }
  if (method != "grid" && !sweep.contains("max_trials")) {
    out.push_back({pos("method"),
                   "method \"" + method + "\" needs 'sweep.max_trials'",
                   {"only a grid knows its own size"}});
  }
  if (method == "tpe" && !objective) {
    out.push_back({pos("method"), "method \"tpe\" needs 'sweep.objective' to model", {}});
  }
  if (pruner != "none") {
    if (!objective) {
      out.push_back({pos("pruner"), "pruner \"" + pruner + "\" needs 'sweep.objective'", {}});
    } else if (objective->rfind("val/", 0) != 0) {
      out.push_back({pos("objective"),
                     "pruning decides at each validation, so the objective must be a validation "
                     "metric ('val/...'), got '" +
                         *objective + "'",
                     {}});
    }
  }
  // slurm with tpe or a pruner needs a shared (PostgreSQL) store: the sweep command checks that,
  // knowing the store, before it creates anything.

  std::set<std::string> seen;
  const toml::table base = without_sweep(recipe);
  std::set<std::string> baseline;
  for (const auto& d : validate_recipe(base, registry, base_dir, file)) baseline.insert(d.message);
  for (const auto& d : space) {
    if (!seen.insert(d.path).second) {
      out.push_back({d.pos, "sweep parameter '" + d.path + "' is declared twice", {}});
      continue;
    }
    if (method == "grid" && !d.discrete()) {
      out.push_back({d.pos,
                     "a grid needs lists of values, but '" + d.path + "' is " + d.describe(),
                     {"use method = \"random\" or \"tpe\", or list the values"}});
    }
    // The parameter at each of its extremes must still make a valid recipe.
    std::vector<std::string> samples = d.values;
    if (d.kind != Dimension::Kind::Choice) {
      const bool integer = d.kind == Dimension::Kind::IntUniform;
      samples = {number_text(d.low, integer), number_text(d.high, integer)};
    }
    for (const auto& text : samples) {
      toml::table trial = base;
      if (!set_path(trial, d.path, *parse_value(text))) {
        out.push_back({d.pos, "sweep parameter '" + d.path + "' is not a key of the recipe", {}});
        break;
      }
      auto problems = validate_recipe(trial, registry, base_dir, file);
      auto it = std::find_if(problems.begin(), problems.end(),
                             [&](const Diagnostic& p) { return !baseline.count(p.message); });
      if (it != problems.end()) {
        out.push_back(
            {d.pos, "sweep parameter '" + d.path + "' = " + text + ": " + it->message, it->notes});
        break;
      }
    }
  }
}

}  // namespace fabric::exp
