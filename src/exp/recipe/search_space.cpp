#include "exp/recipe/search_space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

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
std::shared_ptr<toml::node> parse_value(const std::string& text) {
  toml::table t = parse_command_line_value(text);
  std::shared_ptr<toml::node> out = std::make_shared<toml::value<std::string>>(text);
  if (t.size() == 1 && t.contains("v")) {
    std::move(*t.get("v")).visit([&](auto&& v) {
      out = std::make_shared<std::decay_t<decltype(v)>>(std::move(v));
    });
  }
  return out;
}

/// Splits at commas outside brackets, parentheses and quotes.
std::vector<std::string> split_top_level(const std::string& s) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '(' || c == '{') {
      ++depth;
    } else if (c == ']' || c == ')' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  for (auto& p : parts) {
    const auto b = p.find_first_not_of(" \t"), e = p.find_last_not_of(" \t");
    p = b == std::string::npos ? "" : p.substr(b, e - b + 1);
  }
  return parts;
}

/// "name(inner)" -> inner, when `text` has that shape.
std::optional<std::string> call_args(const std::string& text, const std::string& name) {
  if (text.size() < name.size() + 2 || text.compare(0, name.size() + 1, name + "(") != 0 ||
      text.back() != ')')
    return std::nullopt;
  return text.substr(name.size() + 1, text.size() - name.size() - 2);
}

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

Diagnostic argument_error(const std::string& arg, const std::string& message,
                          std::vector<std::string> notes = {}) {
  return {{"override '" + arg + "'", 0, 0}, message, std::move(notes)};
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

std::optional<Dimension> parse_sweep_argument(const std::string& arg) {
  std::string rest = arg;
  if (rest.rfind("++", 0) == 0) {
    rest = rest.substr(2);
  } else if (rest.rfind("+", 0) == 0) {
    rest = rest.substr(1);
  } else if (rest.rfind("~", 0) == 0) {
    return std::nullopt;
  }
  const size_t eq = rest.find('=');
  if (eq == std::string::npos) return std::nullopt;
  Dimension d;
  d.path = rest.substr(0, eq);
  d.pos = {"override '" + arg + "'", 0, 0};
  std::string rhs = rest.substr(eq + 1);
  rhs.erase(0, rhs.find_first_not_of(" \t"));
  rhs.erase(rhs.find_last_not_of(" \t") + 1);

  auto numbers = [&](const std::string& inner, size_t min_n, size_t max_n, const char* form) {
    auto parts = split_top_level(inner);
    std::vector<std::shared_ptr<toml::node>> values;
    for (const auto& p : parts) values.push_back(parse_value(p));
    bool ok = parts.size() >= min_n && parts.size() <= max_n;
    for (const auto& v : values) ok = ok && v->is_number();
    if (!ok) throw RecipeError({argument_error(arg, std::string("expected ") + form)});
    std::vector<double> out;
    for (const auto& v : values)
      out.push_back(v->is_integer() ? double(v->as_integer()->get())
                                    : v->as_floating_point()->get());
    return std::pair{out, values};
  };
  bool log = false;
  if (auto inner = call_args(rhs, "tag")) {
    auto parts = split_top_level(*inner);
    if (parts.size() != 2 || parts[0] != "log")
      throw RecipeError({argument_error(arg, "expected tag(log, interval(a, b))")});
    log = true;
    rhs = parts[1];
  }
  const bool integer = call_args(rhs, "int").has_value();
  if (integer) rhs = *call_args(rhs, "int");
  if (auto inner = call_args(rhs, "interval")) {
    auto [bounds, nodes] = numbers(*inner, 2, 2, "interval(a, b) with two numbers");
    d.kind = integer ? Dimension::Kind::IntUniform : Dimension::Kind::Uniform;
    d.log = log;
    d.low = bounds[0];
    d.high = bounds[1];
    if (!(d.low < d.high)) throw RecipeError({argument_error(arg, "interval(a, b) needs a < b")});
    if (log && d.low <= 0) throw RecipeError({argument_error(arg, "a log interval needs a > 0")});
    return d;
  }
  if (log || integer)
    throw RecipeError({argument_error(arg, "tag(log, ...) and int(...) take an interval(a, b)")});
  if (auto inner = call_args(rhs, "range")) {
    auto [bounds, nodes] = numbers(*inner, 1, 3, "range(stop), range(start, stop[, step])");
    for (const auto& n : nodes) {
      if (!n->is_integer()) throw RecipeError({argument_error(arg, "range() takes integers")});
    }
    const int64_t start = bounds.size() > 1 ? int64_t(bounds[0]) : 0;
    const int64_t stop = int64_t(bounds.size() > 1 ? bounds[1] : bounds[0]);
    const int64_t step = bounds.size() > 2 ? int64_t(bounds[2]) : 1;
    if (step == 0) throw RecipeError({argument_error(arg, "range() step must not be 0")});
    for (int64_t v = start; step > 0 ? v < stop : v > stop; v += step)
      d.values.push_back(std::to_string(v));
    if (d.values.empty())
      throw RecipeError(
          {argument_error(arg, "range() is empty (Python's range: stop is excluded)")});
    return d;
  }
  std::string list = rhs;
  if (auto inner = call_args(rhs, "choice")) list = *inner;
  auto parts = split_top_level(list);
  if (parts.size() < 2 && !call_args(rhs, "choice")) return std::nullopt;
  for (const auto& p : parts) {
    if (p.empty()) throw RecipeError({argument_error(arg, "an empty value in the list")});
    d.values.push_back(value_text(*parse_value(p)));
  }
  return d;
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
  const std::string method = sweep["method"].value_or(std::string("grid"));
  const auto objective = sweep["objective"].value<std::string>();
  const auto direction = sweep["direction"].value<std::string>();
  const std::string pruner = sweep["pruner"].value_or(std::string("none"));
  const std::string launcher = sweep["launcher"].value_or(std::string("local"));

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
