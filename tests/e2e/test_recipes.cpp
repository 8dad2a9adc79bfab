// The shipped Fashion-MNIST recipes on Debian's real data. The CNN recipe (8 epochs, ~2.5 min on 2
// cores) is run by tools/bench/recipes instead, which prints its accuracy and wall time.
#include <catch2/catch.hpp>

#include <filesystem>

#include "e2e/run_helpers.hpp"

using e2e::fabric_exp;
using e2e::q;
using e2e::query_one;

TEST_CASE("fashion_mnist_mlp reaches the benchmark table's MLP accuracy", "[e2e][recipes]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    FABRIC_SKIP("dataset-fashion-mnist missing");
  test_support::TempDir dir;
  auto r = fabric_exp(dir, "run " + q(e2e::recipe("fashion_mnist_mlp.toml")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'test/accuracy'")) >=
        0.88);
  // The checkpoint callback keeps the best epoch by val/accuracy next to last.ckpt.
  CHECK(query_one(dir, "SELECT count(*) FROM artifacts WHERE path LIKE '%epoch=%'") == "1");
}

TEST_CASE("fashion_mnist_ddp trains on two CPU processes", "[e2e][recipes][ddp]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    FABRIC_SKIP("dataset-fashion-mnist missing");
  test_support::TempDir dir;
  auto r = fabric_exp(dir, "run " + q(e2e::recipe("fashion_mnist_ddp.toml")) + " run.max_epochs=2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT world_size FROM runs") == "2");
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'test/accuracy'")) >=
        0.83);
}

TEST_CASE("char_lm_fsdp logs what char_lm logs under ddp on two processes",
          "[e2e][recipes][fsdp]") {
  test_support::TempDir dir;
  const std::string short_run = " run.max_epochs=1 run.max_steps=20 run.val_every_n_steps=10";
  auto fsdp = fabric_exp(dir, "run " + q(e2e::recipe("char_lm_fsdp.toml")) + short_run);
  INFO(fsdp.output);
  REQUIRE(fsdp.exit_code == 0);
  auto ddp = fabric_exp(dir, "run " + q(e2e::recipe("char_lm_fsdp.toml")) + short_run +
                                 " fabric.strategy=ddp run.name=ddp");
  INFO(ddp.output);
  REQUIRE(ddp.exit_code == 0);
  // Every value both runs logged (losses, perplexity, accuracy, at every step), relative to 1.
  const std::string pairs = "FROM " + e2e::reproducible_metrics + " a JOIN " +
                            e2e::reproducible_metrics +
                            " b ON a.key = b.key AND a.step = b.step "
                            "WHERE a.run_id = (SELECT id FROM runs WHERE name = 'char-lm-fsdp') "
                            "AND b.run_id = (SELECT id FROM runs WHERE name = 'ddp')";
  CHECK(std::stoi(query_one(dir, "SELECT count(*) " + pairs)) >= 10);  // validation twice, test
  CHECK(std::stod(query_one(
            dir, "SELECT max(abs(a.value - b.value) / max(1.0, abs(b.value))) " + pairs)) < 1e-5);
}
