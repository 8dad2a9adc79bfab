// The engine's one registry of component factories, keyed like the recipe registry by
// (table, kind). A factory receives its component's typed config, parsed by the ParamSpec that
// validated the table, and the family's context (the model an optimizer steps, the data a loss
// scores, ...). A family names its table, what its factories build and what they are given:
//
//   struct OptimizerFamily {
//     static constexpr const char* table = "optimizer";
//     using Product = std::shared_ptr<torch::optim::Optimizer>;
//     using Context = NetImpl;
//   };
#pragma once

#include <any>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "exp/params/param_spec.hpp"
#include "exp/recipe/registry.hpp"

namespace fabric::engine {

/// The context of a family whose factories need nothing besides their config.
struct NoContext {};

class ComponentFactories {
 public:
  /// Adds the factory of `spec`'s (table, kind): `make(const Config&, Family::Context&)`.
  /// Throws std::logic_error when the kind has one already or the spec is another family's.
  template <class Family, class Config, class Make>
  void add(const exp::ParamSpec<Config>& spec, Make make) {
    if (spec.table() != Family::table) {
      throw std::logic_error("factory of [" + spec.table() + "] kind '" + spec.kind() +
                             "' added to the [" + Family::table + "] family");
    }
    Builder<Family> build = [&spec, make = std::move(make)](const toml::table& table,
                                                            typename Family::Context& context) {
      return make(spec.parse(table), context);
    };
    if (!builders_.emplace(std::make_pair(spec.table(), spec.kind()), std::move(build)).second) {
      throw std::logic_error("[" + spec.table() + "] kind '" + spec.kind() +
                             "' has a factory already");
    }
  }

  /// Builds the component a validated table declares (its `kind`, or `default_kind` where the
  /// table has none). `where` names the table in the error for a kind without a factory.
  template <class Family>
  typename Family::Product build(const toml::table& table, typename Family::Context& context,
                                 const std::string& where = Family::table,
                                 const std::string& default_kind = "") const {
    const std::string kind = table["kind"].value_or(default_kind);
    const auto it = builders_.find({Family::table, kind});
    if (it == builders_.end()) {
      throw NotSupportedError("[" + where + "] kind '" + kind + "' is not supported yet");
    }
    return std::any_cast<const Builder<Family>&>(it->second)(table, context);
  }

  bool has(const std::string& table, const std::string& kind) const {
    return builders_.count({table, kind}) > 0;
  }

 private:
  template <class Family>
  using Builder =
      std::function<typename Family::Product(const toml::table&, typename Family::Context&)>;
  std::map<std::pair<std::string, std::string>, std::any> builders_;
};

/// The process's factories: every built-in one, then those register_component added.
ComponentFactories& component_factories();

/// Builds each table of a component array ([[metrics]], [[callbacks]], [[loggers]]);
/// `context(where)` gives each its context ("metrics[1]").
template <class Family, class MakeContext>
std::vector<typename Family::Product> build_each(const toml::table& recipe, MakeContext&& context) {
  std::vector<typename Family::Product> out;
  if (const auto* array = recipe[Family::table].as_array()) {
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string where = std::string(Family::table) + "[" + std::to_string(i) + "]";
      if (const auto* table = (*array)[i].as_table()) {
        out.push_back(component_factories().build<Family>(*table, context(where), where));
      }
    }
  }
  return out;
}

/// Adds a program's own component in one call: its declaration to the recipe registry
/// (validation, defaults, docs, schema) and its factory to the engine's. Call it at start-up,
/// before any recipe is read.
template <class Family, class Config, class Make>
void register_component(const exp::ParamSpec<Config>& spec, Make make) {
  exp::global_registry().add(spec);  // first: it refuses a kind that exists
  component_factories().add<Family>(spec, std::move(make));
}

}  // namespace fabric::engine
