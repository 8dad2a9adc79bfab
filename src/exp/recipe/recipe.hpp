// Loading a recipe: parse (TOML syntax errors keep their position), merge `extends` depth-first
// with cycle detection, apply command-line overrides (Hydra's grammar), validate against the
// registry. Every problem is collected and reported at once as a RecipeError.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <vector>

#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/registry.hpp"

namespace fabric::exp {

/// One command-line override: `a.b=v` (must exist), `+a.b=v` (add), `++a.b=v` (add or set),
/// `~a.b` (remove). The right-hand side is a TOML value; a bare word is a string.
struct Override {
  enum class Op { Set, Add, AddOrSet, Remove };
  Op op = Op::Set;
  std::vector<std::string> path{};
  std::string text{};    // the argument as given
  toml::table holder{};  // holds the parsed value under "v"
  const toml::node* value() const { return holder.get("v"); }
};

/// Throws RecipeError naming the argument when it is malformed.
Override parse_override(const std::string& argument);

/// What the machine has, for checks such as "fabric.devices asks for more GPUs than exist".
/// The CLI fills it from LibTorch; tests set it to simulate other machines.
struct MachineInfo {
  int cuda_devices = 0;
};
/// Set once by the program (the recipe layer itself does not link LibTorch).
void set_machine_info(MachineInfo info);
const MachineInfo& machine_info();

struct Recipe {
  std::string path{};                    // the recipe file as given
  std::string text{};                    // its verbatim text
  std::vector<std::string> overrides{};  // as given
  toml::table table{};                   // merged and overridden, without `extends`
};

/// `optimizer.learning_rate` -> `optimizer.lr`: a recipe path with its last key in its canonical
/// spelling (by the spec that declares it in `recipe`); unchanged where none does.
std::string canonical_path(toml::table& recipe, const std::string& dotted,
                           const Registry& registry = global_registry());

/// Loads, merges, overrides and validates. Throws RecipeError with every diagnostic.
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {},
                   const Registry& registry = global_registry());

/// Validation of an already merged table (paths are resolved against `base_dir`).
/// `file` names the recipe in diagnostics that have no position of their own.
std::vector<Diagnostic> validate_recipe(const toml::table& recipe, const Registry& registry,
                                        const std::string& base_dir, const std::string& file);

/// Rewrites every path parameter of a loaded recipe as an absolute path, resolved as validation
/// resolves it (relative to the file that wrote it), so the recipe runs from anywhere.
void absolutize_paths(toml::table& recipe, const std::string& base_dir,
                      const Registry& registry = global_registry());

/// The recipe with every declared default filled in (`config show --defaults`).
toml::table with_defaults(const toml::table& recipe, const Registry& registry = global_registry());

/// TOML text of a table, as `config show` prints it.
std::string to_toml(const toml::table& table);

/// Flattens to dotted keys ("optimizer.lr" -> "0.001"), for config diff and the run store.
std::vector<std::pair<std::string, std::string>> flatten(const toml::table& table);

}  // namespace fabric::exp
