// Every registered component kind, through the real binary: each validates and then trains (a
// declared kind without a factory, or without a case here, fails the suite); every shipped recipe
// and good fixture spelled with its components' aliases trains to the same metrics; and a
// program's own component (the README's Lion example) registers in one line and trains.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "e2e/run_helpers.hpp"
#include "engine/component_factories.hpp"
#include "exp/recipe/recipe.hpp"

namespace fs = std::filesystem;
using e2e::fabric_exp;
using e2e::q;
using e2e::query_one;
using test_support::TempDir;

namespace {

/// A small run every case starts from: synthetic images, an MLP, two steps.
const char* kBase = R"(
[run]
max_steps = 2
seed = 3
[model]
kind = "mlp"
hidden = [8]
[optimizer]
kind = "sgd"
[data]
kind = "synthetic"
samples = 64
test_samples = 32
features = [1, 8, 8]
classes = 3
batch_size = 16
val_fraction = 0.25
)";

const std::string kRegression =
    "[data]\nkind = \"synthetic\"\ntask = \"regression\"\nsamples = 64\nfeatures = [4]\n"
    "val_fraction = 0.25\n";

/// What each kind needs besides the base run ("@" is the folder of the data files).
const std::map<std::pair<std::string, std::string>, std::string>& cases() {
  static const std::map<std::pair<std::string, std::string>, std::string> c{
      {{"model", "mlp"}, "[model]\nkind = \"mlp\"\n"},
      {{"model", "cnn"}, "[model]\nkind = \"cnn\"\nchannels = [4]\nhidden = 8\n"},
      {{"model", "resnet"}, "[model]\nkind = \"resnet\"\nblocks = [1]\nchannels = [4]\n"},
      {{"model", "transformer_lm"},
       "[model]\nkind = \"transformer_lm\"\nlayers = 1\nwidth = 16\nheads = 2\ncontext = 8\n"
       "[data]\nkind = \"text\"\npath = \"@/text.txt\"\ncontext = 8\n"},
      {{"model", "sequential"},
       "[model]\nkind = \"sequential\"\n[[model.layers]]\ntype = \"flatten\"\n"
       "[[model.layers]]\ntype = \"linear\"\nout = 3\n"},
      {{"model", "torchscript"},
       "[model]\nkind = \"torchscript\"\npath = \"" FABRIC_SOURCE_DIR
       "/recipes/torchscript_mlp.pt\"\n"
       "[data]\nkind = \"synthetic\"\nsamples = 64\nfeatures = [32]\nclasses = 4\n"},
      {{"optimizer", "sgd"}, "[optimizer]\nkind = \"sgd\"\nmomentum = 0.9\n"},
      {{"optimizer", "adam"}, "[optimizer]\nkind = \"adam\"\n"},
      {{"optimizer", "adamw"}, "[optimizer]\nkind = \"adamw\"\nno_decay_bias_norm = true\n"},
      {{"optimizer", "rmsprop"}, "[optimizer]\nkind = \"rmsprop\"\n"},
      {{"optimizer", "adagrad"}, "[optimizer]\nkind = \"adagrad\"\n"},
      {{"scheduler", "constant"}, "[scheduler]\nkind = \"constant\"\n"},
      {{"scheduler", "step"}, "[scheduler]\nkind = \"step\"\nstep_size = 1\n"},
      {{"scheduler", "multistep"}, "[scheduler]\nkind = \"multistep\"\nmilestones = [1]\n"},
      {{"scheduler", "exponential"}, "[scheduler]\nkind = \"exponential\"\n"},
      {{"scheduler", "cosine"}, "[scheduler]\nkind = \"cosine\"\nwarmup_steps = 1\n"},
      {{"scheduler", "linear"}, "[scheduler]\nkind = \"linear\"\n"},
      {{"scheduler", "one_cycle"}, "[scheduler]\nkind = \"one_cycle\"\n"},
      {{"scheduler", "polynomial"}, "[scheduler]\nkind = \"polynomial\"\npower = 2.0\n"},
      {{"data", "synthetic"}, "[data]\nkind = \"synthetic\"\nsamples = 64\n"},
      {{"data", "fashion_mnist"}, "[data]\nkind = \"fashion_mnist\"\n"},
      {{"data", "mnist"}, "[data]\nkind = \"mnist\"\nroot = \"@/mnist\"\nval_fraction = 0.25\n"},
      {{"data", "csv"}, "[data]\nkind = \"csv\"\npath = \"@/table.csv\"\ntarget = \"y\"\n"},
      {{"data", "text"},
       "[model]\nkind = \"transformer_lm\"\nlayers = 1\nwidth = 16\nheads = 2\ncontext = 8\n"
       "[data]\nkind = \"text\"\npath = \"@/text.txt\"\ncontext = 8\n"},
      {{"data", "tensors"}, "[data]\nkind = \"tensors\"\npath = \"@/tensors.pt\"\n"},
      {{"loss", "cross_entropy"}, "[loss]\nkind = \"cross_entropy\"\nlabel_smoothing = 0.1\n"},
      {{"loss", "nll"}, "[loss]\nkind = \"nll\"\n"},
      {{"loss", "bce_with_logits"},
       "[loss]\nkind = \"bce_with_logits\"\n[data]\nkind = \"synthetic\"\nclasses = 2\n"},
      {{"loss", "mse"}, "[loss]\nkind = \"mse\"\n" + kRegression},
      {{"loss", "l1"}, "[loss]\nkind = \"l1\"\n" + kRegression},
      {{"loss", "smooth_l1"}, "[loss]\nkind = \"smooth_l1\"\n" + kRegression},
      {{"metrics", "accuracy"}, "[[metrics]]\nkind = \"accuracy\"\n"},
      {{"metrics", "top_k_accuracy"}, "[[metrics]]\nkind = \"top_k_accuracy\"\nk = 2\n"},
      {{"metrics", "perplexity"}, "[[metrics]]\nkind = \"perplexity\"\n"},
      {{"metrics", "mse"}, "[loss]\nkind = \"mse\"\n[[metrics]]\nkind = \"mse\"\n" + kRegression},
      {{"metrics", "mae"}, "[loss]\nkind = \"mse\"\n[[metrics]]\nkind = \"mae\"\n" + kRegression},
      {{"callbacks", "checkpoint"}, "[[callbacks]]\nkind = \"checkpoint\"\n"},
      {{"callbacks", "early_stopping"}, "[[callbacks]]\nkind = \"early_stopping\"\n"},
      {{"callbacks", "lr_monitor"}, "[[callbacks]]\nkind = \"lr_monitor\"\n"},
      {{"callbacks", "throughput"}, "[[callbacks]]\nkind = \"throughput\"\n"},
      {{"loggers", "store"}, "[[loggers]]\nkind = \"store\"\nflush_seconds = 0.5\n"},
      {{"loggers", "csv"}, "[[loggers]]\nkind = \"csv\"\n"},
      {{"loggers", "tensorboard"}, "[[loggers]]\nkind = \"tensorboard\"\n"},
  };
  return c;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// The base run with the tables of `snippet` in place of its own.
std::string recipe_with(const std::string& snippet, const std::string& data_dir) {
  toml::table recipe = toml::parse(kBase);
  const toml::table parts = toml::parse(replace_all(snippet, "@", data_dir));
  for (const auto& [key, value] : parts) recipe.insert_or_assign(key, value);
  std::ostringstream out;
  out << recipe;
  return out.str();
}

void write_big_endian(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.write(bytes, 4);
}

/// MNIST's four IDX files with `n` random 8x8 images of 10 classes each.
void write_idx(const fs::path& root) {
  fs::create_directories(root);
  for (auto [prefix, n] : {std::pair{"train", 64}, std::pair{"t10k", 32}}) {
    std::ofstream images(root / (std::string(prefix) + "-images-idx3-ubyte"), std::ios::binary);
    for (uint32_t v : {0x803u, uint32_t(n), 8u, 8u}) write_big_endian(images, v);
    for (int i = 0; i < n * 64; ++i) images.put(char((i * 37) % 256));
    std::ofstream labels(root / (std::string(prefix) + "-labels-idx1-ubyte"), std::ios::binary);
    for (uint32_t v : {0x801u, uint32_t(n)}) write_big_endian(labels, v);
    for (int i = 0; i < n; ++i) labels.put(char(i % 10));
  }
}

/// The data files the cases read.
void write_data(const TempDir& dir) {
  write_idx(dir.path() / "mnist");
  std::ofstream csv(dir.str("table.csv"));
  csv << "a,b,y\n";
  for (int i = 0; i < 64; ++i) csv << i % 7 << "," << (i * 3) % 5 << "," << i % 2 << "\n";
  std::ofstream text(dir.str("text.txt"));
  for (int i = 0; i < 40; ++i) text << "the quick brown fox jumps over the lazy dog. ";
  c10::Dict<std::string, at::Tensor> tensors;
  tensors.insert("data", torch::randn({64, 4}));
  tensors.insert("target", torch::arange(64, torch::kLong) % 3);
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(tensors));
  std::ofstream(dir.str("tensors.pt"), std::ios::binary).write(bytes.data(), bytes.size());
}

/// Copies `node` into `table` under `key`.
void put(toml::table& table, const std::string& key, const toml::node& node) {
  node.visit([&](const auto& value) { table.insert_or_assign(key, value); });
}

/// Spells every parameter that has an alias by its last alias: a key present is renamed, and one
/// absent is added with its default, so that each alias is read.
void rewrite(toml::table& table, const fabric::exp::SpecBase& spec) {
  for (const auto& p : spec.params()) {
    if (p.aliases.empty()) continue;
    if (const toml::node* node = table.get(p.name)) {
      put(table, p.aliases.back(), *node);
      table.erase(p.name);
    } else if (p.default_value) {
      put(table, p.aliases.back(), *p.default_value);
    }
  }
}

void with_every_alias(toml::table& recipe) {
  const auto& registry = fabric::exp::global_registry();
  for (const auto& info : registry.tables()) {
    if (info.shape == fabric::exp::TableShape::Fixed) {
      if (!info.filled_when_absent) continue;  // [sweep]
      if (!recipe.contains(info.name)) recipe.insert(info.name, toml::table{});
      rewrite(*recipe[info.name].as_table(), *info.spec);
      continue;
    }
    auto rewrite_component = [&](toml::table& t) {
      const auto kind = t["kind"].value<std::string>();
      if (const auto* entry = kind ? registry.find(info.name, *kind) : nullptr)
        rewrite(t, *entry->spec);
    };
    if (auto* t = recipe[info.name].as_table()) rewrite_component(*t);
    if (auto* a = recipe[info.name].as_array()) {
      for (auto& e : *a) rewrite_component(*e.as_table());
    }
  }
}

std::string metrics_of(const TempDir& dir) {
  std::string out;
  for (const auto& row : e2e::query(dir, "SELECT key, step, value FROM " +
                                             e2e::reproducible_metrics + " ORDER BY key, step")) {
    out += row[0] + " " + row[1] + " " + row[2] + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("every registered kind validates and trains", "[e2e][components]") {
  TempDir dir;
  write_data(dir);
  const auto& registry = fabric::exp::global_registry();
  size_t kinds = 0;
  for (const auto& table : registry.tables()) {
    for (const auto& kind : registry.kinds(table.name)) {
      INFO("[" << table.name << "] kind = \"" << kind << "\"");
      ++kinds;
      CHECK(fabric::engine::component_factories().has(table.name, kind));
      auto it = cases().find({table.name, kind});
      if (it == cases().end()) FAIL("no case for this kind in tests/e2e/test_every_kind.cpp");
      if (kind == "fashion_mnist" && !fs::exists("/usr/share/datasets/fashion-mnist")) continue;
      const std::string path = dir.str(table.name + "-" + kind + ".toml");
      std::ofstream(path) << recipe_with(it->second, dir.str());
      auto r = fabric_exp(dir, "run " + q(path));
      INFO(r.output);
      CHECK(r.exit_code == 0);
      CHECK(query_one(dir, "SELECT status FROM runs WHERE name = '" + table.name + "-" + kind +
                               "'") == "finished");
    }
  }
  CHECK(kinds == cases().size());
}

TEST_CASE(
    "a recipe table has one name: components/<table>/ declares it, engine/<table>.cpp builds it",
    "[e2e][components]") {
  const fs::path src = fs::path(FABRIC_SOURCE_DIR) / "src";
  for (const auto& table : fabric::exp::global_registry().tables()) {
    INFO("[" << table.name << "]");
    const fs::path folder = src / "exp/components" / table.name;
    CHECK(fs::is_directory(folder));
    if (table.shape == fabric::exp::TableShape::Fixed) {
      CHECK(fs::exists(folder / (table.name + ".hpp")));
      continue;
    }
    CHECK(fs::exists(src / "engine" / (table.name + ".cpp")));
    for (const auto& kind : fabric::exp::global_registry().kinds(table.name)) {
      INFO("kind = \"" << kind << "\"");
      CHECK(fs::exists(folder / (kind + ".hpp")));
    }
  }
}

TEST_CASE("shipped recipes spelled with every alias train to the same metrics", "[e2e][aliases]") {
  std::vector<fs::path> recipes;
  for (const auto* folder : {"recipes", "tests/recipes/good"}) {
    for (const auto& e : fs::directory_iterator(fs::path(FABRIC_SOURCE_DIR) / folder)) {
      if (e.path().extension() == ".toml") recipes.push_back(e.path());
    }
  }
  std::sort(recipes.begin(), recipes.end());
  REQUIRE(recipes.size() >= 10);
  for (const auto& path : recipes) {
    INFO(path.string());
    const std::string text = test_support::read_file(path);
    if (text.find("fashion-mnist") != std::string::npos ||
        text.find("fashion_mnist") != std::string::npos) {
      if (!fs::exists("/usr/share/datasets/fashion-mnist")) continue;
    }
    if (text.find("GPL-3") != std::string::npos && !fs::exists("/usr/share/common-licenses/GPL-3"))
      continue;
    auto recipe = fabric::exp::load_recipe(path.string());
    fabric::exp::absolutize_paths(recipe.table, path.parent_path().string());
    toml::table aliased = recipe.table;
    with_every_alias(aliased);
    std::map<std::string, std::string> metrics;
    for (const auto& [name, table] :
         {std::pair{"canonical", &recipe.table}, std::pair{"aliased", &aliased}}) {
      TempDir dir;
      std::ofstream(dir.str(std::string(name) + ".toml")) << *table;
      auto r = fabric_exp(dir, "run " + q(dir.str(std::string(name) + ".toml")) +
                                   " run.max_steps=3 run.seed=5 run.log_every_n_steps=1");
      INFO(name << "\n" << r.output);
      REQUIRE(r.exit_code == 0);
      metrics[name] = metrics_of(dir);
    }
    CHECK(!metrics["canonical"].empty());
    CHECK(metrics["aliased"] == metrics["canonical"]);
  }
}

TEST_CASE("a program's own component registers in one call and trains (the README's Lion)",
          "[e2e][components][readme]") {
  const std::string example = (test_support::exe_dir().parent_path() / "src/lion-example").string();
  TempDir dir;
  const std::string recipe = recipe_with(
      "[run]\nmax_steps = 30\nseed = 1\nlog_every_n_steps = 1\n"
      "[optimizer]\nkind = \"lion\"\nlearning_rate = 3e-3\nbetas = [0.9, 0.99]\n"
      "[[callbacks]]\nkind = \"checkpoint\"\n",
      dir.str());
  std::ofstream(dir.str("lion.toml")) << recipe;
  auto run = [&](const std::string& args) {
    return test_support::run_command("cd " + q(dir.str()) + " && FABRIC_EXP_STORE=" +
                                     q(dir.str("store.db")) + " " + q(example) + " " + args);
  };
  auto r = run("lion.toml");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
  const double first = std::stod(
      query_one(dir, "SELECT value FROM metrics WHERE key = 'train/loss' ORDER BY step LIMIT 1"));
  const double last = std::stod(query_one(
      dir, "SELECT value FROM metrics WHERE key = 'train/loss' ORDER BY step DESC LIMIT 1"));
  CHECK(last < first);
  // Its declaration validates like a built-in one's: the file, the line, the key.
  auto bad = run("lion.toml optimizer.learning_rate=-1");
  CHECK(bad.exit_code != 0);
  CHECK(e2e::contains(bad.output, "'optimizer.lr' must be > 0"));

  // The README shows this file's marked parts verbatim.
  const std::string source =
      test_support::read_file(fs::path(FABRIC_SOURCE_DIR) / "src/examples/lion_optimizer.cpp");
  const std::string readme =
      test_support::read_file(fs::path(FABRIC_SOURCE_DIR) / "src/exp/components/README.md");
  int excerpts = 0;
  for (size_t at = source.find("// [readme-begin]\n"); at != std::string::npos;
       at = source.find("// [readme-begin]\n", at + 1)) {
    const size_t begin = at + std::string("// [readme-begin]\n").size();
    const size_t end = source.rfind('\n', source.find("// [readme-end]", begin)) + 1;
    std::string excerpt = source.substr(begin, end - begin);
    // Indented parts (inside main) appear in the README without their indentation.
    std::string unindented;
    std::istringstream lines(excerpt);
    for (std::string line; std::getline(lines, line);)
      unindented +=
          (line.rfind("  ", 0) == 0 && excerpt.rfind("  ", 0) == 0 ? line.substr(2) : line) + "\n";
    INFO(unindented);
    CHECK(e2e::contains(readme, unindented));
    ++excerpts;
  }
  CHECK(excerpts == 2);
}
