// The recipe language: diagnostics with positions (fixtures), overrides, extends, defaults and
// the resolved form (fabric-exp issue "Recipe language").
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "exp/recipe/recipe.hpp"
#include "support/helpers.hpp"

namespace fs = std::filesystem;
using fabric::exp::load_recipe;
using fabric::exp::RecipeError;

namespace {
// Fixture paths are rendered relative to the source root, as a user in the repository sees them.
struct InSourceRoot {
  fs::path previous = fs::current_path();
  InSourceRoot() { fs::current_path(FABRIC_SOURCE_DIR); }
  ~InSourceRoot() { fs::current_path(previous); }
};

std::string errors_of(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    load_recipe(path, overrides);
  } catch (const RecipeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every bad fixture gives exactly its expected diagnostics", "[exp][recipe]") {
  InSourceRoot here;
  int checked = 0;
  for (const auto& entry : fs::directory_iterator("tests/recipes/bad")) {
    if (entry.path().extension() != ".expected") continue;
    fs::path recipe = entry.path();
    recipe.replace_extension(".toml");
    INFO(recipe.string());
    CHECK(errors_of(recipe.string()) == test_support::read_file(entry.path()));
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("good fixtures and every shipped recipe validate", "[exp][recipe]") {
  InSourceRoot here;
  for (const char* dir : {"tests/recipes/good", "recipes"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".toml") continue;
      // Its model is exported by tools/bootstrap (recipes/torchscript_export.py).
      if (entry.path().filename() == "torchscript.toml" &&
          !fs::exists("recipes/torchscript_mlp.pt"))
        continue;
      INFO(entry.path().string());
      CHECK(errors_of(entry.path().string()) == "");
    }
  }
}

TEST_CASE("the resolved recipe is valid TOML that resolves to itself", "[exp][recipe]") {
  InSourceRoot here;
  test_support::TempDir dir;
  for (const auto& entry : fs::directory_iterator("recipes")) {
    INFO(entry.path().string());
    if (entry.path().extension() != ".toml") continue;
    // Its model file is written by recipes/torchscript_export.py (the e2e test runs both).
    if (entry.path().filename() == "torchscript.toml" && !fs::exists("recipes/torchscript_mlp.pt"))
      continue;
    auto recipe = load_recipe(entry.path().string());
    for (bool defaults : {false, true}) {
      auto table = defaults ? fabric::exp::with_defaults(recipe.table) : recipe.table;
      std::string out = dir.str("resolved.toml");
      std::ofstream(out) << fabric::exp::to_toml(table);
      // paths inside recipes are relative to the recipe's folder
      if (table["data"]["root"] || table["data"]["path"] || table["model"]["path"]) continue;
      auto again = load_recipe(out);
      CHECK(fabric::exp::flatten(again.table) == fabric::exp::flatten(table));
    }
  }
}

TEST_CASE("extends merges depth-first and a new kind starts its table afresh",
          "[exp][recipe][extends]") {
  InSourceRoot here;
  auto child = load_recipe("tests/recipes/good/child.toml").table;
  CHECK(child["model"]["kind"].value<std::string>() == "cnn");
  CHECK_FALSE(child["model"]["activation"]);  // an mlp key of the base does not leak into the cnn
  CHECK(child["optimizer"]["kind"].value<std::string>() == "adam");  // inherited
  CHECK(child["optimizer"]["lr"].value<double>() == 5e-4);           // overridden
  CHECK(child["run"]["seed"].value<int64_t>() == 1);
  CHECK_FALSE(child.contains("extends"));
  auto two = load_recipe("tests/recipes/good/two_bases.toml").table;
  CHECK(two["optimizer"]["lr"].value<double>() == 0.25);  // the later base wins over the earlier
  CHECK(two["run"]["seed"].value<int64_t>() == 3);        // the file wins over its bases
}

TEST_CASE("overrides: set, add, add-or-set, remove", "[exp][recipe][overrides]") {
  InSourceRoot here;
  const std::string r = "tests/recipes/good/base.toml";
  auto t = load_recipe(r, {"optimizer.lr=0.5", "model.dropout=0.25", "+run.val_every_n_steps=7",
                           "++run.seed=9", "++run.name=\"x y\"", "~model.activation",
                           "model.hidden=[4, 5]", "optimizer.kind=adamw"})
               .table;
  CHECK(t["optimizer"]["lr"].value<double>() == 0.5);
  CHECK(t["model"]["dropout"].value<double>() == 0.25);  // declared, absent from the file: allowed
  CHECK(t["run"]["val_every_n_steps"].value<int64_t>() == 7);
  CHECK(t["run"]["seed"].value<int64_t>() == 9);
  CHECK(t["run"]["name"].value<std::string>() == "x y");
  CHECK_FALSE(t["model"]["activation"]);
  CHECK(t["model"]["hidden"][1].value<int64_t>() == 5);
  CHECK(t["optimizer"]["kind"].value<std::string>() == "adamw");  // a bare word is a string
}

TEST_CASE("override errors name the argument", "[exp][recipe][overrides]") {
  InSourceRoot here;
  const std::string r = "tests/recipes/good/base.toml";
  CHECK(errors_of(r, {"optimizer.lrr=1"}) ==
        "override 'optimizer.lrr=1': error: key 'optimizer.lrr' is not in the recipe\n"
        "note: did you mean 'optimizer.lr'?\n");  // and nothing that would fail too
  CHECK(errors_of(r, {"+optimizer.lr=1"}) ==
        "override '+optimizer.lr=1': error: could not add 'optimizer.lr': it is already set at "
        "tests/recipes/good/base.toml:10:6\n"
        "note: to change it, use optimizer.lr=1 (or ++optimizer.lr=1 to add or set)\n");
  CHECK(errors_of(r, {"~run.nope"}) ==
        "override '~run.nope': error: could not remove 'run.nope': it is not in the recipe\n");
  CHECK(errors_of(r, {"optimizer.lr=-1"}) ==
        "override 'optimizer.lr=-1': error: 'optimizer.lr' must be > 0, got -1\n");
  CHECK(errors_of(r, {"+optimizer.momentum=0.9"}) ==
        "override '+optimizer.momentum=0.9': error: unknown key 'momentum' in [optimizer] (kind = "
        "\"adam\")\n"
        "note: valid keys: lr, betas, eps, weight_decay, amsgrad, no_decay_bias_norm, kernel\n");
  CHECK(errors_of(r, {"optimizer.lr"}) ==
        "override 'optimizer.lr': error: expected key=value, +key=value, ++key=value or ~key\n");
  CHECK(errors_of(r, {"bad key=1"}) ==
        "override 'bad key=1': error: 'bad key' is not a valid key path (use dotted names: "
        "optimizer.lr)\n");
  CHECK(errors_of(r, {"~run.seed=3"}) ==
        "override '~run.seed=3': error: a removal takes no value: use ~run.seed\n");
  // several bad overrides are all reported
  auto both = errors_of(r, {"a.b=1", "~c.d"});
  CHECK(both.find("override 'a.b=1'") != std::string::npos);
  CHECK(both.find("override '~c.d'") != std::string::npos);
}

TEST_CASE("a missing or unreadable recipe file is a recipe error", "[exp][recipe]") {
  CHECK(errors_of("/nonexistent/recipe.toml") ==
        "/nonexistent/recipe.toml: error: recipe file not found\n");
  CHECK(errors_of("/tmp") == "/tmp: error: is a folder, not a recipe file\n");
}

TEST_CASE("fabric-exp validate exits 2 on recipe errors and 0 on success", "[exp][recipe][cli]") {
  InSourceRoot here;
  auto bin = (test_support::exe_dir().parent_path() / "src/fabric-exp").string();
  auto bad = test_support::run_command(bin + " validate tests/recipes/bad/unknown_key.toml");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output == test_support::read_file("tests/recipes/bad/unknown_key.expected"));
  auto good = test_support::run_command(bin + " validate recipes/quickstart.toml run.max_epochs=1");
  CHECK(good.exit_code == 0);
  CHECK(good.output == "recipes/quickstart.toml: ok\n");
  auto diff = test_support::run_command(
      bin + " config diff recipes/fashion_mnist_mlp.toml recipes/fashion_mnist_cnn.toml");
  CHECK(diff.output.find("model.kind: mlp -> cnn\n") != std::string::npos);
  CHECK(diff.output.find("run.max_epochs: 10 -> 8\n") != std::string::npos);
}

namespace {
// A user's own component, declared and registered exactly like the built-in ones.
struct LionConfig {
  double lr = 1e-4;
  double weight_decay = 0.0;
};
const fabric::exp::ParamSpec<LionConfig>& lion_spec() {
  using namespace fabric::exp;
  static const auto spec =
      ParamSpec<LionConfig>("optimizer", "lion", "The Lion optimizer (user component).")
          .param(&LionConfig::lr, "lr", "Learning rate.")
          .check(gt(0))
          .param(&LionConfig::weight_decay, "weight_decay", "Decoupled weight decay.")
          .check(ge(0));
  return spec;
}
}  // namespace

TEST_CASE("users register their own components through the same registry",
          "[exp][recipe][registry]") {
  fabric::exp::Registry registry;
  fabric::exp::register_builtin(registry);
  registry.add(lion_spec());
  CHECK_THROWS_WITH(registry.add(lion_spec()), Catch::Contains("Key already registered"));
  test_support::TempDir dir;
  std::ofstream(dir.str("r.toml"))
      << "[run]\nmax_steps = 1\n[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"lion\"\n"
         "lr = -1\n[data]\nkind = \"synthetic\"\n";
  try {
    load_recipe(dir.str("r.toml"), {}, registry);
    FAIL("expected an error");
  } catch (const RecipeError& e) {
    CHECK(std::string(e.what()).find("'optimizer.lr' must be > 0, got -1") != std::string::npos);
  }
  CHECK(errors_of(dir.str("r.toml")).find("kind 'lion' is not a registered optimizer kind") !=
        std::string::npos);
}

TEST_CASE("recipes that ask for devices the machine lacks are errors", "[exp][recipe]") {
  test_support::TempDir dir;
  std::ofstream(dir.str("gpu.toml"))
      << "[run]\nmax_steps = 1\n[fabric]\naccelerator = \"cuda\"\ndevices = 4\n"
         "[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"sgd\"\n[data]\nkind = \"synthetic\"\n";
  fabric::exp::set_machine_info({0});
  CHECK(errors_of(dir.str("gpu.toml"))
            .find(":4:15: error: 'fabric.accelerator' = \"cuda\" but this machine has no CUDA "
                  "device") != std::string::npos);
  fabric::exp::set_machine_info({2});  // a machine with two GPUs
  CHECK(errors_of(dir.str("gpu.toml"))
            .find(":5:11: error: 'fabric.devices' = 4 but this machine has 2 CUDA device(s)") !=
        std::string::npos);
  fabric::exp::set_machine_info({0});
}

TEST_CASE("parts not built yet are refused at validation, at their line", "[exp][recipe]") {
  test_support::TempDir dir;
  std::ofstream(dir.str("graph.toml"))
      << "[run]\nmax_steps = 1\ncuda_graph = true\n"
         "[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"sgd\"\n[data]\nkind = \"synthetic\"\n";
  CHECK(errors_of(dir.str("graph.toml"))
            .find(":3:14: error: 'run.cuda_graph' = true: capturing the training step in a CUDA "
                  "graph is not supported yet") != std::string::npos);
}
