// One declaration per component parameter: name, type, default (the config struct's
// member initializer), checks, choices, aliases and a one-line doc. From it come validation,
// defaults, `fabric-exp docs`, the JSON Schema in schemas/recipe.schema.json, and the typed
// config the component's factory receives (ParamSpec::parse).
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

class SpecBase;
/// The declarations a list of tables chooses from by each table's `type` (the layers of a
/// `sequential` model). A function, read when needed: a layer type (residual) holds layers.
using TableTypes = const std::vector<const SpecBase*>& (*)();

struct ParamInfo {
  std::string name{};
  std::string doc{};
  ParamType type = ParamType::String;
  std::vector<std::string> aliases{};
  std::vector<Check> checks{};         // on numbers, or on each element of a numeric list
  std::vector<std::string> choices{};  // allowed strings (lists of tables: each table's `type`)
  bool required = false;
  bool is_path = false;                  // a file that must exist (relative to the recipe's folder)
  bool nonempty = false;                 // lists
  bool is_sample_shape = false;          // [data]: the shape of one sample (synthetic `features`)
  TableTypes table_types = nullptr;      // lists of tables: what each table's `type` selects
  const SpecBase* table_spec = nullptr;  // a declared sub-table ([fabric.fsdp]); null: free-form
  bool is_task = false;                  // [data]: what the targets are (`task`)
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
  /// The node of `param` in `table`, under its name or one of its aliases.
  const toml::node* lookup(const toml::table& table, const ParamInfo& param) const;
  const ParamInfo* find(const std::string& name_or_alias) const;
  /// Every name and alias, for suggestions.
  std::vector<std::string> names() const;
  /// [model] kinds: the rank of one input sample the model needs (3: images [C, H, W]); 0: any.
  int64_t input_rank() const { return input_rank_; }
  /// [data] kinds: the rank of one sample when the kind alone decides it; 0: the parameter marked
  /// sample_shape() tells, or only the files do.
  int64_t sample_rank() const { return sample_rank_; }
  /// [data] kinds: the task ("classification", "regression", "language_model") when the kind
  /// alone decides it; "": the parameter marked task() tells, or only the files do.
  const std::string& gives_task() const { return gives_task_; }
  /// Models, losses and metrics: the tasks whose targets they work on (empty: any).
  const std::vector<std::string>& needs_tasks() const { return needs_tasks_; }

 protected:
  std::string table_, kind_, summary_;
  std::vector<ParamInfo> params_;
  int64_t input_rank_ = 0, sample_rank_ = 0;
  std::string gives_task_{};
  std::vector<std::string> needs_tasks_{};
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
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Reads a validated node into a member of type T (integers widen to double).
template <class T>
T from_node(const toml::node& node) {
  if constexpr (std::is_same_v<T, double>) {
    return node.value<double>().value();
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                       std::is_same_v<T, std::string>) {
    return node.value_exact<T>().value();
  } else {
    T out;
    for (const auto& e : *node.as_array()) {
      out.push_back(from_node<typename T::value_type>(e));
    }
    return out;
  }
}
}  // namespace detail

/// A value that may be an integer or a string (`devices = 2` or `devices = "0,1"`).
struct IntOrString {
  std::optional<int64_t> integer{};
  std::string text{};
};

/// A list of tables the component reads itself (the layers of a `sequential` model): it points
/// into the parsed table, which keeps the source positions its errors cite (a copy would not),
/// so it is valid while that table lives.
using Tables = const toml::array*;

template <class Config>
class ParamSpec : public SpecBase {
 public:
  using SpecBase::SpecBase;

  /// The typed config of a table that validation accepted: each declared parameter found under
  /// its name or an alias is read into its member; the rest keep their member initializers.
  Config parse(const toml::table& table) const {
    Config config{};
    for (size_t i = 0; i < params_.size(); ++i) {
      if (const toml::node* node = lookup(table, params_[i]); node && readers_[i])
        readers_[i](config, *node);
    }
    return config;
  }

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
    readers_.push_back([member](Config& config, const toml::node& node) {
      if constexpr (std::is_same_v<T, IntOrString>) {
        if (auto i = node.value_exact<int64_t>()) {
          (config.*member).integer = *i;
        } else {
          (config.*member).text = node.value_exact<std::string>().value();
        }
      } else if constexpr (detail::is_optional<T>::value) {
        config.*member = detail::from_node<typename T::value_type>(node);
      } else {
        config.*member = detail::from_node<T>(node);
      }
    });
    return *this;
  }
  /// A list of tables (e.g. the layers of a `sequential` model); validated by the component.
  ParamSpec& tables(Tables Config::*member, std::string name, std::string doc, TableTypes types) {
    untyped(std::move(name), std::move(doc), ParamType::TableList);
    params_.back().table_types = types;
    readers_.back() = [member](Config& config, const toml::node& node) {
      config.*member = node.as_array();
    };
    return *this;
  }
  /// A sub-table declared by its own spec ([fabric.fsdp]): validated, defaulted, documented and
  /// in the schema as every table.
  template <class Sub>
  ParamSpec& sub_table(Sub Config::*member, std::string name, std::string doc,
                       const ParamSpec<Sub>& spec) {
    untyped(std::move(name), std::move(doc), ParamType::Table);
    params_.back().table_spec = &spec;
    readers_.back() = [member, &spec](Config& config, const toml::node& node) {
      config.*member = spec.parse(*node.as_table());
    };
    return *this;
  }
  /// A table of free-form keys (the search space of a sweep); validated by its owner.
  ParamSpec& free_table(std::string name, std::string doc) {
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
  /// The parameter is the shape of one sample (validation compares it with the model's needs).
  ParamSpec& sample_shape() {
    params_.back().is_sample_shape = true;
    return *this;
  }
  /// The parameter is the data's task (validation compares it with what the components need).
  ParamSpec& task() {
    params_.back().is_task = true;
    return *this;
  }
  ParamSpec& gives_task(std::string task) {
    gives_task_ = std::move(task);
    return *this;
  }
  ParamSpec& needs_tasks(std::vector<std::string> tasks) {
    needs_tasks_ = std::move(tasks);
    return *this;
  }
  ParamSpec& needs_input_rank(int64_t rank) {
    input_rank_ = rank;
    return *this;
  }
  ParamSpec& gives_sample_rank(int64_t rank) {
    sample_rank_ = rank;
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
    readers_.emplace_back();
    return *this;
  }

  /// One per parameter, in declaration order: stores a validated node into its member.
  std::vector<std::function<void(Config&, const toml::node&)>> readers_;
};

/// The `type` names a list-of-tables parameter accepts, and the declaration of one (null: none).
std::vector<std::string> table_type_names(const ParamInfo& param);
const SpecBase* find_table_type(const ParamInfo& param, const std::string& type);

}  // namespace fabric::exp
