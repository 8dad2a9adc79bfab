// Mutated recipes (dropped keys, swapped types, random bytes, huge numbers, deep nesting) must end
// in a clear RecipeError or a valid recipe: never a crash, another exception type, or a hang.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <random>

#include "exp/recipe/recipe.hpp"
#include "support/helpers.hpp"

namespace {

std::string mutate(std::string text, std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 7);
  auto pos = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n ? n - 1 : 0)(rng); };
  switch (pick(rng)) {
    case 0: {  // drop a line
      size_t start = pos(text.size());
      start = text.rfind('\n', start);
      start = start == std::string::npos ? 0 : start + 1;
      size_t end = text.find('\n', start);
      text.erase(start, end == std::string::npos ? std::string::npos : end - start + 1);
      break;
    }
    case 1: {  // swap a value's type
      static const char* values[] = {"\"str\"",    "1",       "-7", "3.5",       "true",
                                     "[1, \"a\"]", "{x = 1}", "[]", "1979-05-27"};
      size_t eq = text.find(" = ", pos(text.size()));
      if (eq != std::string::npos) {
        size_t end = text.find('\n', eq);
        text.replace(eq + 3, end == std::string::npos ? std::string::npos : end - eq - 3,
                     values[pos(9)]);
      }
      break;
    }
    case 2:  // random bytes
      for (int i = 0; i < 8; ++i)
        text[pos(text.size())] = char(std::uniform_int_distribution<int>(0, 255)(rng));
      break;
    case 3:  // huge numbers
      text += "\n[run]\nmax_epochs = 99999999999999999999\n";
      break;
    case 4: {  // deep nesting
      std::string deep = "\n[model]\nkind = \"mlp\"\nhidden = ";
      for (int i = 0; i < 200; ++i) deep += "[";
      for (int i = 0; i < 200; ++i) deep += "]";
      text += deep + "\n";
      break;
    }
    case 5:  // duplicate a table
      text += "\n[optimizer]\nkind = \"sgd\"\n";
      break;
    case 6:  // truncate
      text.resize(pos(text.size()));
      break;
    default:  // unknown kinds and keys
      text += "\n[[metrics]]\nkind = \"" + std::to_string(pos(1000)) + "\"\nzz = 1\n";
  }
  return text;
}
}  // namespace

TEST_CASE("a few hundred mutated recipes end in a clear error or a valid recipe",
          "[exp][recipe][fuzz]") {
  const std::vector<std::string> seeds = {
      std::string(FABRIC_SOURCE_DIR) + "/recipes/quickstart.toml",
      std::string(FABRIC_SOURCE_DIR) + "/recipes/fashion_mnist_mlp.toml",
      std::string(FABRIC_SOURCE_DIR) + "/tests/recipes/good/sequential.toml"};
  std::mt19937 rng(1234);
  test_support::TempDir dir;
  int errors = 0, valid = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    std::string text = test_support::read_file(seeds[size_t(i) % seeds.size()]);
    for (int m = 0, n = 1 + int(rng() % 3); m < n; ++m) text = mutate(text, rng);
    std::string path = dir.str("fuzz.toml");
    std::ofstream(path, std::ios::binary) << text;
    try {
      fabric::exp::load_recipe(path);
      ++valid;
    } catch (const fabric::exp::RecipeError& e) {
      ++errors;
      REQUIRE_FALSE(e.diagnostics().empty());
      for (const auto& d : e.diagnostics()) CHECK_FALSE(d.message.empty());
    }
  }
  CHECK(errors + valid == 300);
  CHECK(errors > 100);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
}
