#include "exp/recipe/toml_nodes.hpp"

#include <fmt/format.h>

#include <sstream>

namespace fabric::exp {

SourcePos pos_of(const toml::source_region& src, const std::string& fallback_file) {
  SourcePos p;
  p.file = src.path ? std::string(*src.path) : fallback_file;
  p.line = int(src.begin.line);
  p.column = int(src.begin.column);
  return p;
}

SourcePos pos_of(const toml::node& node, const std::string& fallback_file) {
  return pos_of(node.source(), fallback_file);
}

SourcePos key_pos(const toml::key& key, const toml::node& value, const std::string& fallback_file) {
  return key.source().path ? pos_of(key.source(), fallback_file) : pos_of(value, fallback_file);
}

std::string describe(const toml::node& node) {
  if (auto s = node.as_string()) return "\"" + s->get() + "\"";
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date/time";
}

std::string kind_of(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

int overlong_dotted_key_line(const std::string& text) {
  // Dots outside strings and comments, counted between the characters that end a key or a
  // value: a number has one dot at most, so more than kMaxKeyParts - 1 is a key's.
  int line = 1;
  size_t dots = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      const bool multi = text.compare(i, 3, std::string(3, c)) == 0;
      const std::string close = multi ? std::string(3, c) : std::string(1, c);
      size_t j = i + close.size();
      while (j < text.size() && text.compare(j, close.size(), close) != 0) {
        if (text[j] == '\\' && c == '"') ++j;  // an escaped character
        if (j < text.size() && text[j] == '\n') ++line;
        ++j;
      }
      i = std::min(text.size(), j + close.size()) - 1;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '.') {
      if (++dots >= kMaxKeyParts) return line;
    } else if (c == '\n' || c == '=' || c == ',' || c == '[' || c == ']' || c == '{' || c == '}') {
      dots = 0;
      if (c == '\n') ++line;
    }
  }
  return 0;
}

toml::table parse_command_line_value(const std::string& text, const std::string& source) {
  if (overlong_dotted_key_line(text)) {
    toml::table holder;  // kept as text: validation says it is not what the key takes
    holder.insert("v", text);
    return holder;
  }
  try {
    return toml::parse("v = " + text, source);
  } catch (const toml::parse_error&) {
    toml::table holder;
    holder.insert("v", text);
    return holder;
  }
}

std::string value_text(const toml::node& node) {
  if (auto f = node.as_floating_point()) {
    // Shortest text that reads back to the same double, and still a TOML float ("1.0", not "1").
    std::string s = fmt::format("{}", f->get());
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
  }
  if (auto a = node.as_array()) {
    std::string s = "[";
    for (size_t i = 0; i < a->size(); ++i) s += (i ? ", " : "") + value_text(*a->get(i));
    return s + "]";
  }
  std::ostringstream os;
  os << toml::toml_formatter(node, toml::format_flags::none);
  return os.str();
}

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

}  // namespace fabric::exp
