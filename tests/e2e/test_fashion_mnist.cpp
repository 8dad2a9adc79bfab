// The example program, as a user runs it: real binary, real Fashion-MNIST from Debian; its
// metrics, logged with fabric.log_dict alone, read back from the run store by fabric-exp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "e2e/run_helpers.hpp"
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

TEST_CASE("a plain Fabric program's fabric.log reaches the run store: fabric-exp reads it back",
          "[e2e][example][store]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    FABRIC_SKIP("dataset-fashion-mnist missing");
  test_support::TempDir dir;
  auto r = test_support::run_command("cd " + e2e::q(dir.str()) + " && " + example() +
                                     " --epochs 2 --limit-batches 3 --store store.db");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("test_accuracy ([0-9.]+)")));
  const double printed = std::stod(m[1]);
  // The run, as fabric-exp lists it: named by the program, finished, its folder under runs/.
  auto runs = e2e::fabric_exp(dir, "runs --format csv --columns name,status");
  INFO(runs.output);
  REQUIRE(runs.exit_code == 0);
  CHECK(e2e::contains(runs.output, "fashion-mnist-example,finished"));
  const std::string id = e2e::query_one(dir, "SELECT id FROM runs");
  CHECK(std::filesystem::is_directory(e2e::query_one(dir, "SELECT run_dir FROM runs")));
  // Every point logged: 3 steps an epoch, each with its epoch; the test accuracy at the end.
  CHECK(e2e::query_one(dir, "SELECT count(*) FROM metrics WHERE key = 'train/loss'") == "6");
  CHECK(e2e::query_one(dir,
                       "SELECT group_concat(epoch) FROM (SELECT epoch FROM metrics WHERE "
                       "key = 'train/loss' ORDER BY step)") == "0,0,0,1,1,1");
  auto metrics = e2e::fabric_exp(dir, "metrics " + id + " test/accuracy --format csv");
  INFO(metrics.output);
  REQUIRE(metrics.exit_code == 0);
  // key,step,epoch,value,wall_time
  REQUIRE(std::regex_search(metrics.output, m, std::regex(R"(test/accuracy,6,1,([0-9.eE+-]+),)")));
  CHECK(std::stod(m[1]) == Approx(printed).epsilon(1e-4));
}

TEST_CASE("a plain Fabric program that fails leaves its run failed, not running",
          "[e2e][example][store]") {
  test_support::TempDir dir;
  auto r = test_support::run_command("cd " + e2e::q(dir.str()) + " && " + example() +
                                     " --data /nonexistent --store store.db");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(e2e::query_one(dir, "SELECT status FROM runs") == "failed");
}
