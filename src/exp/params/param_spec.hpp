// One declaration per component parameter (STYLE.md B2): name, type, default (the config struct's
// member initializer), checks, choices, aliases and a one-line doc. From it come validation,
// defaults, `fabric-exp docs`, and the JSON Schema in schemas/recipe.schema.json.
//
//   struct AdamWConfig { double lr = 1e-3; double weight_decay = 1e-2; };
//   static const auto spec = ParamSpec<AdamWConfig>("optimizer", "adamw", "AdamW.")
//       .param(&AdamWConfig::lr, "lr", "Learning rate.").alias("learning_rate").check(gt(0.0))
//       .param(&AdamWConfig::weight_decay, "weight_decay", "Decoupled weight
//       decay.").check(ge(0.0));
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fabric::exp {

enum class ParamType {
  Bool,
  Int,
  Float,
  String,
  IntList,
  FloatList,
  StringList,
  IntOrString,
  TableList,
  Table  // a table whose contents the owner validates ([sweep.parameters])
};

/// "integer", "list of floats", ... for messages and docs.
std::string type_name(ParamType type);

/// A rule on a value, written once: a predicate, a phrase for messages and docs ("> 0"), and the
/// JSON Schema keywords it adds.
struct Check {
  std::string phrase{};
  std::function<bool(double)> ok;
  std::function<void(toml::table&)> schema;
};
Check gt(double bound);
Check ge(double bound);
Check lt(double bound);
Check le(double bound);

struct ParamInfo {
  std::string name{};
  std::string doc{};
  ParamType type = ParamType::String;
  std::vector<std::string> aliases{};
  std::vector<Check> checks{};         // on numbers, or on each element of a numeric list
  std::vector<std::string> choices{};  // allowed strings
  bool required = false;
  bool is_path = false;   // a file that must exist (relative to the recipe's folder)
  bool nonempty = false;  // lists
  std::shared_ptr<toml::node> default_value{};  // null: no default (optional or required)
};

/// The type-erased part of a spec: what validation, docs and the schema need.
class SpecBase {
 public:
  SpecBase(std::string table, std::string kind, std::string summary)
      : table_(std::move(table)), kind_(std::move(kind)), summary_(std::move(summary)) {}
  virtual ~SpecBase() = default;
  const std::string& table() const { return table_; }
  const std::string& kind() const { return kind_; }
  const std::string& summary() const { return summary_; }
  const std::vector<ParamInfo>& params() const { return params_; }
  const ParamInfo* find(const std::string& name_or_alias) const;
  /// Every name and alias, for suggestions.
  std::vector<std::string> names() const;

 protected:
  std::string table_, kind_, summary_;
  std::vector<ParamInfo> params_;
};

namespace detail {
template <class T>
struct param_traits;
template <>
struct param_traits<bool> {
  static constexpr ParamType type = ParamType::Bool;
};
template <>
struct param_traits<int64_t> {
  static constexpr ParamType type = ParamType::Int;
};
template <>
struct param_traits<double> {
  static constexpr ParamType type = ParamType::Float;
};
template <>
struct param_traits<std::string> {
  static constexpr ParamType type = ParamType::String;
};
template <>
struct param_traits<std::vector<int64_t>> {
  static constexpr ParamType type = ParamType::IntList;
};
template <>
struct param_traits<std::vector<double>> {
  static constexpr ParamType type = ParamType::FloatList;
};
template <>
struct param_traits<std::vector<std::string>> {
  static constexpr ParamType type = ParamType::StringList;
};
template <class T>
struct param_traits<std::optional<T>> : param_traits<T> {};

template <class T>
std::shared_ptr<toml::node> to_node(const T& v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
    return std::make_shared<toml::value<T>>(v);
  } else {
    auto arr = std::make_shared<toml::array>();
    for (const auto& e : v) arr->push_back(e);
    return arr;
  }
}
}  // namespace detail

/// A value that may be an integer or a string (`devices = 2` or `devices = "0,1"`).
struct IntOrString {
  std::optional<int64_t> integer{};
  std::string text{};
};

template <class Config>
class ParamSpec : public SpecBase {
 public:
  using SpecBase::SpecBase;

  /// Declares a parameter; its default is the member's value in a default-constructed Config
  /// (std::optional members that are empty have none).
  template <class T>
  ParamSpec& param(T Config::*member, std::string name, std::string doc) {
    ParamInfo p;
    p.name = std::move(name);
    p.doc = std::move(doc);
    static const Config defaults{};  // once per Config (and no false maybe-uninitialized)
    if constexpr (std::is_same_v<T, IntOrString>) {
      p.type = ParamType::IntOrString;
      const IntOrString& d = defaults.*member;
      if (d.integer) {
        p.default_value = std::make_shared<toml::value<int64_t>>(*d.integer);
      } else if (!d.text.empty()) {
        p.default_value = std::make_shared<toml::value<std::string>>(d.text);
      }
    } else {
      p.type = detail::param_traits<T>::type;
      if constexpr (requires { (defaults.*member).has_value(); }) {
        if ((defaults.*member).has_value()) p.default_value = detail::to_node(*(defaults.*member));
      } else {
        p.default_value = detail::to_node(defaults.*member);
      }
    }
    params_.push_back(std::move(p));
    return *this;
  }
  /// A list of tables (e.g. the layers of a `sequential` model); validated by the component.
  ParamSpec& tables(std::string name, std::string doc) {
    return untyped(std::move(name), std::move(doc), ParamType::TableList);
  }
  /// A table of free-form keys (the search space of a sweep); validated by its owner.
  ParamSpec& table(std::string name, std::string doc) {
    return untyped(std::move(name), std::move(doc), ParamType::Table);
  }
  ParamSpec& alias(std::string name) {
    params_.back().aliases.push_back(std::move(name));
    return *this;
  }
  ParamSpec& check(Check c) {
    params_.back().checks.push_back(std::move(c));
    return *this;
  }
  ParamSpec& choices(std::vector<std::string> values) {
    params_.back().choices = std::move(values);
    return *this;
  }
  ParamSpec& required() {
    params_.back().required = true;
    params_.back().default_value.reset();
    return *this;
  }
  ParamSpec& path() {
    params_.back().is_path = true;
    return *this;
  }
  ParamSpec& nonempty() {
    params_.back().nonempty = true;
    return *this;
  }

 private:
  /// A parameter with no member of Config (its owner reads it from the table).
  ParamSpec& untyped(std::string name, std::string doc, ParamType type) {
    ParamInfo p;
    p.name = std::move(name);
    p.doc = std::move(doc);
    p.type = type;
    params_.push_back(std::move(p));
    return *this;
  }
};

}  // namespace fabric::exp
