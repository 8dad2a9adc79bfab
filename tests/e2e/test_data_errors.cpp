// Data and layers that cannot be used: a missing folder, corrupt or malformed files and a layer
// that does not fit, each reported with the file, the key or the line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "e2e/run_helpers.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;

TEST_CASE("a missing data folder is a recipe error naming the key", "[e2e][run][errors]") {
  TempDir dir;
  auto r = fabric_exp(
      dir, "run " + q(e2e::recipe("fashion_mnist_mlp.toml")) + " data.root=/nonexistent/fm");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "data.root"));
  CHECK(contains(r.output, "/nonexistent/fm"));
}

TEST_CASE("corrupt and malformed data files name the file and what is wrong",
          "[e2e][run][errors]") {
  TempDir dir;
  SECTION("a corrupt gzipped IDX file") {
    fs::create_directories(dir.str("fm"));
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
      std::ofstream(dir.str("fm/") + f) << "\x1f\x8b\x08 this is not gzip data";
    }
    auto r = fabric_exp(
        dir, "run " + q(e2e::recipe("fashion_mnist_mlp.toml")) + " data.root=" + dir.str("fm"));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.str("fm") + "/train-images-idx3-ubyte.gz"));
    CHECK(query_one(dir, "SELECT status FROM runs") == "failed");
    CHECK(contains(query_one(dir, "SELECT error FROM runs"), "train-images-idx3-ubyte.gz"));
  }
  SECTION("a CSV file with a field that is not a number") {
    std::ofstream(dir.str("d.csv")) << "a,b,label\n1,2,0\n3,x,1\n";
    std::ofstream(dir.str("r.toml"))
        << "[run]\nmax_epochs = 1\n[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"sgd\"\n"
        << "[data]\nkind = \"csv\"\npath = \"d.csv\"\ntarget = \"label\"\n";
    auto r = fabric_exp(dir, "run r.toml");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "d.csv' line 3 column 2: 'x' is not a number"));
  }
}

TEST_CASE("a layer that does not fit its input points at its line", "[e2e][run][errors]") {
  TempDir dir;
  std::ofstream(dir.str("seq.toml")) << "[run]\nmax_epochs = 1\n[model]\nkind = \"sequential\"\n"
                                     << "[[model.layers]]\ntype = \"linear\"\nout = 16\n"
                                     << "[[model.layers]]\ntype = \"relu\"\n"
                                     << "[[model.layers]]\ntype = \"conv2d\"\nout = 4\n"
                                     << "[optimizer]\nkind = \"sgd\"\n"
                                     << "[data]\nkind = \"synthetic\"\nclasses = 4\n";
  auto r = fabric_exp(dir, "run seq.toml");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "seq.toml:10:"));
  CHECK(contains(r.output,
                 "model.layers[2] (conv2d) needs [channels, height, width] inputs; it gets samples "
                 "of shape [16]"));
}
