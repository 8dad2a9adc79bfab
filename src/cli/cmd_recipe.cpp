// `fabric-exp validate`, `config show`, `config diff`, `schema` and `docs`.
#include <fstream>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "common/atomic_write.hpp"
#include "exp/params/schema.hpp"
#include "exp/recipe/recipe.hpp"
#include "store/schema.hpp"

namespace fabric::cli {

namespace {

int write_or_print(const std::string& text, const std::string& out) {
  if (out.empty()) {
    std::cout << text;
  } else {
    fabric::atomic_write(out, text.data(), text.size());
  }
  return 0;
}

}  // namespace

void add_recipe_commands(CLI::App& app) {
  {
    auto* sub = app.add_subcommand("validate", "Check a recipe (and overrides) without running it");
    auto path = std::make_shared<std::string>();
    auto overrides = std::make_shared<std::vector<std::string>>();
    sub->add_option("recipe", *path, "Recipe file")->required();
    sub->add_option("overrides", *overrides, "Overrides: a.b=v, +a.b=v, ++a.b=v, ~a.b");
    register_action(sub, [path, overrides] {
      exp::load_recipe(*path, *overrides);
      std::cout << *path << ": ok\n";
      return 0;
    });
  }
  auto* config = app.add_subcommand("config", "Show or compare resolved recipes");
  config->require_subcommand(1);
  {
    auto* sub = config->add_subcommand("show", "Print the fully resolved recipe (valid TOML)");
    auto path = std::make_shared<std::string>();
    auto overrides = std::make_shared<std::vector<std::string>>();
    auto defaults = std::make_shared<bool>(false);
    sub->add_option("recipe", *path, "Recipe file")->required();
    sub->add_option("overrides", *overrides, "Overrides");
    sub->add_flag("--defaults", *defaults, "Fill in every default");
    register_action(sub, [path, overrides, defaults] {
      auto recipe = exp::load_recipe(*path, *overrides);
      std::cout << exp::to_toml(*defaults ? exp::with_defaults(recipe.table) : recipe.table);
      return 0;
    });
  }
  {
    auto* sub = config->add_subcommand(
        "diff", "Compare two recipes key by key (defaults included); exit 1 when they differ");
    auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
    sub->add_option("a", *a, "First recipe")->required();
    sub->add_option("b", *b, "Second recipe")->required();
    register_action(sub, [a, b] {
      auto fa = exp::flatten(exp::with_defaults(exp::load_recipe(*a).table));
      auto fb = exp::flatten(exp::with_defaults(exp::load_recipe(*b).table));
      std::map<std::string, std::pair<std::optional<std::string>, std::optional<std::string>>> keys;
      for (auto& [k, v] : fa) keys[k].first = v;
      for (auto& [k, v] : fb) keys[k].second = v;
      int differences = 0;
      for (auto& [k, v] : keys) {
        if (v.first == v.second) continue;
        ++differences;
        std::cout << k << ": " << v.first.value_or("(unset)") << " -> "
                  << v.second.value_or("(unset)") << "\n";
      }
      if (differences == 0) std::cout << "no differences\n";
      return differences == 0 ? 0 : 1;  // as diff(1)
    });
  }
  {
    auto* sub = app.add_subcommand("schema",
                                   "Write the recipe JSON Schema (schemas/recipe.schema.json) or, "
                                   "with --store, the store schema");
    auto out = std::make_shared<std::string>();
    auto store_schema = std::make_shared<bool>(false);
    sub->add_option("--out", *out, "Write here instead of stdout");
    sub->add_flag("--store", *store_schema,
                  "The run store's SQL schema instead (schemas/store.sql)");
    register_action(sub, [out, store_schema] {
      return write_or_print(*store_schema ? store::schema_sql() : exp::recipe_schema_json(), *out);
    });
  }
  {
    auto* sub = app.add_subcommand("docs", "Print the recipe reference, or one table or component");
    auto out = std::make_shared<std::string>();
    auto filter = std::make_shared<std::string>();
    sub->add_option("what", *filter, "A table (optimizer) or a component (optimizer.adamw)");
    sub->add_option("--out", *out, "Write here instead of stdout");
    register_action(sub, [out, filter] {
      try {
        return write_or_print(exp::reference_markdown(exp::global_registry(), *filter), *out);
      } catch (const std::invalid_argument& e) {
        std::cerr << "fabric-exp docs: " << e.what() << "\n";
        return 2;
      }
    });
  }
}

}  // namespace fabric::cli
