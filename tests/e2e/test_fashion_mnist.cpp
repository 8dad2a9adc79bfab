// The example program, as a user runs it: real binary, real Fashion-MNIST from Debian.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "support/helpers.hpp"

namespace {
std::string example() {
  return (test_support::exe_dir().parent_path() / "src/fashion-mnist-example").string();
}
}  // namespace

TEST_CASE("the Fashion-MNIST CNN example reaches 88% test accuracy", "[e2e][example]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    FABRIC_SKIP("dataset-fashion-mnist missing");
  test_support::TempDir dir;
  auto r = test_support::run_command(example() + " --epochs 2 --checkpoint " + dir.str("ck.pt"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("test_accuracy ([0-9.]+)")));
  CHECK(std::stod(m[1]) >= 0.88);
  CHECK(std::filesystem::file_size(dir.str("ck.pt")) > 100000);
}

TEST_CASE("the example reports a missing data folder clearly", "[e2e][example]") {
  auto r = test_support::run_command(example() + " --data /nonexistent --epochs 1");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("IDX file not found: /nonexistent/train-images-idx3-ubyte.gz") !=
        std::string::npos);
}
