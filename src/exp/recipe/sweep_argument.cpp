// Multirun arguments of `fabric-exp sweep` (Hydra's forms): `a.b=1,2,3`, `range(...)`,
// `choice(...)`, `interval(...)`, `tag(log, interval(...))`; a plain override is not one.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "exp/recipe/search_space.hpp"
#include "exp/recipe/toml_nodes.hpp"

namespace fabric::exp {

namespace {

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

Diagnostic argument_error(const std::string& arg, const std::string& message,
                          std::vector<std::string> notes = {}) {
  return {{"override '" + arg + "'", 0, 0}, message, std::move(notes)};
}

}  // namespace

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

}  // namespace fabric::exp
