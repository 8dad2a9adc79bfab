// One declaration feeds validation, defaults, docs and the JSON Schema: the checked-in schema and
// reference must match the declarations, and the declarations must be consistent.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "exp/params/schema.hpp"
#include "exp/recipe/recipe.hpp"
#include "support/helpers.hpp"

namespace fs = std::filesystem;
using namespace fabric::exp;

namespace {
const fs::path kRoot = FABRIC_SOURCE_DIR;

std::vector<const SpecBase*> all_specs() {
  const Registry& r = global_registry();
  std::vector<const SpecBase*> out;
  for (const auto& t : r.tables()) {
    if (t.spec) out.push_back(t.spec);
    for (const auto& k : r.kinds(t.name)) out.push_back(r.find(t.name, k)->spec);
  }
  return out;
}
}  // namespace

TEST_CASE("the checked-in schema and reference match the declarations", "[exp][schema]") {
  INFO(
      "regenerate with: build/src/fabric-exp schema --out schemas/recipe.schema.json; "
      "build/src/fabric-exp docs --out schemas/recipe-reference.md");
  CHECK(test_support::read_file(kRoot / "schemas/recipe.schema.json") == recipe_schema_json());
  CHECK(test_support::read_file(kRoot / "schemas/recipe-reference.md") == reference_markdown());
}

TEST_CASE("registry invariants: names, aliases, docs, defaults pass their own checks",
          "[exp][schema]") {
  for (const SpecBase* spec : all_specs()) {
    INFO(spec->table() << " " << spec->kind());
    std::set<std::string> names;
    for (const auto& n : spec->names()) CHECK(names.insert(n).second);  // unique names and aliases
    CHECK(names.count("kind") == 0);
    CHECK_FALSE(spec->summary().empty());
    for (const auto& p : spec->params()) {
      INFO(p.name);
      CHECK_FALSE(p.doc.empty());
      // Keys without a default are required, lists of tables, or optional by design.
      static const std::set<std::string> optional{"seed",      "max_epochs", "max_steps",
                                                  "objective", "direction",  "max_trials"};
      CHECK((p.required || p.default_value || p.type == ParamType::TableList ||
             p.type == ParamType::Table || optional.count(p.name)));
      if (!p.default_value) continue;
      const toml::node& d = *p.default_value;
      if (!p.choices.empty()) {
        std::string s =
            d.is_integer() ? std::to_string(d.as_integer()->get()) : d.as_string()->get();
        CHECK(std::find(p.choices.begin(), p.choices.end(), s) != p.choices.end());
      }
      auto check_number = [&](const toml::node& n) {
        double v = n.is_integer() ? double(n.as_integer()->get()) : n.as_floating_point()->get();
        for (const auto& c : p.checks) CHECK(c.ok(v));
      };
      if (d.is_number()) check_number(d);
      if (auto arr = d.as_array()) {
        if (p.nonempty) CHECK_FALSE(arr->empty());
        for (const auto& e : *arr) {
          if (e.is_number()) check_number(e);
        }
      }
    }
  }
}

TEST_CASE("taplo accepts every shipped recipe against the schema and rejects a typo",
          "[exp][schema][taplo]") {
  std::string taplo = (kRoot / ".deps/pypi/bin/taplo").string();
  if (!fs::exists(taplo)) {
    if (test_support::run_command("command -v taplo").exit_code != 0)
      FABRIC_SKIP("taplo not installed (PyPI taplo, tools/bootstrap)");
    taplo = "taplo";
  }
  std::string schema = "--schema file://" + (kRoot / "schemas/recipe.schema.json").string();
  auto ok = test_support::run_command(taplo + " check " + schema + " " +
                                      (kRoot / "recipes").string() + "/*.toml");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  test_support::TempDir dir;
  std::string typo = test_support::read_file(kRoot / "recipes/quickstart.toml");
  typo.replace(typo.find("lr = 3e-3"), 9, "lrr = 3e-3");
  std::ofstream(dir.str("typo.toml")) << typo;
  auto bad = test_support::run_command(taplo + " check " + schema + " " + dir.str("typo.toml"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("lrr") != std::string::npos);
}

TEST_CASE("component help comes from the same declarations", "[exp][schema]") {
  auto adamw = reference_markdown(global_registry(), "optimizer.adamw");
  CHECK(adamw.find("### `kind = \"adamw\"`") != std::string::npos);
  CHECK(adamw.find("| `lr` (alias `learning_rate`) | number | `0.001` | > 0 | Learning rate. |") !=
        std::string::npos);
  CHECK(adamw.find("sgd") == std::string::npos);
  auto run = reference_markdown(global_registry(), "run");
  CHECK(run.find("`max_epochs`") != std::string::npos);
  CHECK_THROWS_WITH(reference_markdown(global_registry(), "optimizer.adamww"),
                    Catch::Contains("no optimizer kind 'adamww' (did you mean adamw?)"));
  CHECK_THROWS_WITH(reference_markdown(global_registry(), "optimiser"),
                    Catch::Contains("did you mean optimizer?"));
}
