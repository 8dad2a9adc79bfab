#include "exp/params/param_spec.hpp"

#include <sstream>

namespace fabric::exp {

std::string type_name(ParamType type) {
  switch (type) {
    case ParamType::Bool:
      return "boolean";
    case ParamType::Int:
      return "integer";
    case ParamType::Float:
      return "number";
    case ParamType::String:
      return "string";
    case ParamType::IntList:
      return "list of integers";
    case ParamType::FloatList:
      return "list of numbers";
    case ParamType::StringList:
      return "list of strings";
    case ParamType::IntOrString:
      return "integer or string";
    case ParamType::TableList:
      return "list of tables";
    case ParamType::Table:
      return "table";
  }
  return "?";
}

const toml::node* SpecBase::lookup(const toml::table& table, const ParamInfo& param) const {
  if (const toml::node* n = table.get(param.name)) return n;
  for (const auto& alias : param.aliases) {
    if (const toml::node* n = table.get(alias)) return n;
  }
  return nullptr;
}

std::vector<std::string> table_type_names(const ParamInfo& param) {
  std::vector<std::string> names;
  if (param.table_types) {
    for (const SpecBase* spec : param.table_types()) names.push_back(spec->kind());
  }
  return names;
}

const SpecBase* find_table_type(const ParamInfo& param, const std::string& type) {
  if (!param.table_types) return nullptr;
  for (const SpecBase* spec : param.table_types()) {
    if (spec->kind() == type) return spec;
  }
  return nullptr;
}

namespace {
std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

Check gt(double b) {
  return {"> " + number(b), [b](double v) { return v > b; },
          [b](toml::table& s) { s.insert_or_assign("exclusiveMinimum", b); }};
}
Check ge(double b) {
  return {">= " + number(b), [b](double v) { return v >= b; },
          [b](toml::table& s) { s.insert_or_assign("minimum", b); }};
}
Check lt(double b) {
  return {"< " + number(b), [b](double v) { return v < b; },
          [b](toml::table& s) { s.insert_or_assign("exclusiveMaximum", b); }};
}
Check le(double b) {
  return {"<= " + number(b), [b](double v) { return v <= b; },
          [b](toml::table& s) { s.insert_or_assign("maximum", b); }};
}

const ParamInfo* SpecBase::find(const std::string& key) const {
  for (const auto& p : params_) {
    if (p.name == key) return &p;
    for (const auto& a : p.aliases) {
      if (a == key) return &p;
    }
  }
  return nullptr;
}

std::vector<std::string> SpecBase::names() const {
  std::vector<std::string> out;
  for (const auto& p : params_) {
    out.push_back(p.name);
    out.insert(out.end(), p.aliases.begin(), p.aliases.end());
  }
  return out;
}

}  // namespace fabric::exp
