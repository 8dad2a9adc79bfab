// The search space of a sweep. In a recipe, [sweep.parameters] maps recipe keys (dotted, or as
// nested tables) to a list of values or a distribution:
//
//   [sweep.parameters]
//   "optimizer.lr" = { distribution = "log_uniform", min = 1e-4, max = 1e-2 }
//   "model.hidden" = [[128], [256], [256, 128]]     # a list is always a list of choices
//   "data.batch_size" = { distribution = "int_uniform", min = 32, max = 256 }
//
// On the command line, Hydra's multirun forms: a=1,2,3  a=range(3)  a=choice(x,y)
// a=interval(0,1)  a=tag(log,interval(1e-4,1e-1))  a=int(interval(8,64)).
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <vector>

#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/registry.hpp"

namespace fabric::exp {

struct Dimension {
  enum class Kind { Choice, Uniform, IntUniform };
  std::string path{};  // a recipe key: "optimizer.lr"
  Kind kind = Kind::Choice;
  bool log = false;
  double low = 0, high = 0;           // Uniform and IntUniform (inclusive)
  std::vector<std::string> values{};  // Choice: each value as TOML text (exp::value_text)
  SourcePos pos{};                    // where it was declared

  /// Whether a grid can enumerate it (choices and linear integer ranges).
  bool discrete() const { return kind == Kind::Choice || (kind == Kind::IntUniform && !log); }
  /// Discrete dimensions: the number of values and the i-th one as TOML text.
  size_t count() const;
  std::string value(size_t i) const;
  /// "[0.001, 0.01]", "log_uniform(1e-05, 0.1)", ...
  std::string describe() const;
};
using SearchSpace = std::vector<Dimension>;

/// Reads [sweep.parameters]; problems go to `out`, positioned at the offending key.
SearchSpace parse_search_space(const toml::table& parameters, const std::string& file,
                               std::vector<Diagnostic>& out);

/// A command-line argument in a multirun form, or nullopt for a plain override ("a.b=3").
/// Throws RecipeError naming the argument when a multirun form is malformed.
std::optional<Dimension> parse_sweep_argument(const std::string& argument);

/// Replaces or adds `dims` in [sweep.parameters] of `recipe` (creating the tables), as the
/// table form parse_search_space reads back.
void merge_into_sweep(toml::table& recipe, const SearchSpace& dims);
/// The [sweep] table as TOML text whose [parameters] are written in `order` (the sweep's
/// dimensions), so that parse_search_space reads them back in that order: TOML tables are
/// sorted by key, and the grid's order (the last parameter fastest) is the declaration's.
std::string sweep_spec_text(const toml::table& sweep, const SearchSpace& order);

/// The recipe without its [sweep] table: what each trial runs.
toml::table without_sweep(const toml::table& recipe);

/// Checks a recipe's [sweep] table against the rest of the recipe: the rules between its keys,
/// and that each parameter, set to each of its extreme values, still makes a valid recipe.
void check_sweep(const toml::table& recipe, const SearchSpace& space, const Registry& registry,
                 const std::string& base_dir, const std::string& file,
                 std::vector<Diagnostic>& out);

}  // namespace fabric::exp
