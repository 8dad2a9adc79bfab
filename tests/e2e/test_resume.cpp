// Interrupted runs and --resume: SIGTERM, Ctrl-C and kill -9 at any point end bit-identical to
// an uninterrupted run; a checkpoint that is gone or changed is refused, naming a sound one.
// LibTorch's logging before Catch2: Debian's 1.13 logs through glog, whose CHECK macro must give
// way to Catch2's, not replace it.
#include <c10/util/Logging.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "e2e/resume_helpers.hpp"
#include "e2e/run_helpers.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "store/sqlite.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;
using namespace e2e::resume;

TEST_CASE("an interrupted and resumed run ends exactly like an uninterrupted one",
          "[e2e][run][resume]") {
  TempDir dir;
  const std::string args = "run " + q(e2e::recipe("quickstart.toml")) + kLongRun;
  auto full = fabric_exp(dir, args);
  INFO(full.output);
  REQUIRE(full.exit_code == 0);

  const int code = interrupt_run(dir, args, SIGTERM);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 143);
  const std::string killed = query_one(dir, "SELECT id FROM runs WHERE status = 'killed'");
  REQUIRE_FALSE(killed.empty());
  const std::string stopped_at = query_one(
      dir, "SELECT max(step) FROM metrics WHERE run_id = " + q(killed) + " AND key = 'train/loss'");
  CHECK(std::stoi(stopped_at) < 3300);  // it was stopped before the end (3378 steps)

  auto resumed = fabric_exp(dir, "run --resume " + killed.substr(0, 4));
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "resumed from"));
  CHECK(query_one(dir, "SELECT status FROM runs WHERE id = " + q(killed)) == "finished");

  // Same metrics at every step, to the last bit, and no duplicated rows.
  const std::string full_id = query_one(dir, "SELECT id FROM runs WHERE id != " + q(killed));
  auto differing =
      query(dir, "SELECT a.key, a.step, a.value, b.value FROM " + reproducible_metrics +
                     " a JOIN " + reproducible_metrics +
                     " b ON a.key = b.key AND a.step = b.step WHERE a.run_id = " + q(full_id) +
                     " AND b.run_id = " + q(killed) + " AND a.value != b.value");
  CHECK(differing.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + reproducible_metrics +
                           " WHERE run_id = " + q(full_id)) ==
        query_one(dir,
                  "SELECT count(*) FROM " + reproducible_metrics + " WHERE run_id = " + q(killed)));
  require_same_weights(dir, full_id, killed);  // and the same weights
}

TEST_CASE("after kill -9 at any point, --resume ends bit-identical to an uninterrupted run",
          "[e2e][run][resume][kill9]") {
  // Dropout and the shuffle both draw from the generator, so a generator state restored wrongly
  // shows in the metrics of the epochs after the checkpoint.
  const std::string args = "run " + q(e2e::recipe("quickstart.toml")) +
                           " data.samples=20000 run.max_epochs=5 model.dropout=0.1";
  TempDir dir;
  auto full = fabric_exp(dir, args);
  INFO(full.output);
  REQUIRE(full.exit_code == 0);
  const std::string full_id = query_one(dir, "SELECT id FROM runs");
  // Killed as it starts (before any checkpoint), and after the first and the third epoch-end
  // checkpoints, at a few moments after them: the first checkpoint may not be in place yet.
  for (const auto& [line, delay] :
       std::vector<std::pair<std::string, double>>{{"^run ", 0.0},
                                                   {"^epoch 0 step", 0.0},
                                                   {"^epoch 0 step", 0.15},
                                                   {"^epoch 2 step", 0.05}}) {
    INFO("killed after the line " << line << " + " << delay << " s");
    // SIGKILL: no handler runs, nothing is flushed.
    REQUIRE(e2e::signal_when(dir, args, line, delay, SIGKILL) == 137);
    const std::string killed = query_one(
        dir, "SELECT id FROM runs WHERE id != " + q(full_id) + " ORDER BY created_at DESC LIMIT 1");
    REQUIRE_FALSE(killed.empty());
    const bool had_checkpoint =
        fs::exists(query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(killed)) +
                   "/checkpoints/last.ckpt");
    if (line == "^run ") CHECK_FALSE(had_checkpoint);
    auto resumed = fabric_exp(dir, "run --resume " + killed);
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(
        contains(resumed.output, had_checkpoint ? "resumed from" : "trains again from the start"));
    require_same_metrics(dir, full_id, killed);
  }
}

TEST_CASE("a checkpoint the store recorded and that is gone is an error, not a start over",
          "[e2e][run][resume]") {
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  const std::string ckpt = query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt";
  REQUIRE(fs::remove(ckpt));
  auto resumed = fabric_exp(dir, "run --resume " + id);
  CHECK(resumed.exit_code != 0);
  CHECK(contains(resumed.output, "was recorded but is gone"));
  CHECK(contains(resumed.output, ckpt));
}

TEST_CASE("a checkpoint in place that the store has no record of yet resumes on its CRCs",
          "[e2e][run][resume]") {
  // The state a kill leaves between a checkpoint's rename and the store's record of its digest.
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  fabric::store::SqliteDatabase(dir.str("store.db"))
      .exec("DELETE FROM artifacts WHERE kind = 'checkpoint'");
  auto resumed = fabric_exp(dir, "run --resume " + id);
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "resumed from"));
}

TEST_CASE("a checkpoint whose bytes were changed is refused, naming the file and a sound one",
          "[e2e][run][resume][integrity]") {
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  const std::string ckpt = query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt";
  REQUIRE(fs::exists(ckpt));
  // Overwrite bytes in the middle of the file in place: same size, tensor data changed.
  {
    std::fstream f(ckpt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(fs::file_size(ckpt) / 2));
    f.write("\x13\x37\x13\x37\x13\x37\x13\x37", 8);
  }
  auto resumed = fabric_exp(dir, "run --resume " + id);
  INFO(resumed.output);
  CHECK(resumed.exit_code == 1);
  CHECK(contains(resumed.output, ckpt));
  CHECK(contains(resumed.output, "no other checkpoint of this run is sound"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "killed");  // left as it was

  // fabric::load (every load path) refuses it as well.
  CHECK_THROWS_WITH(fabric::read_checkpoint_file(ckpt),
                    Catch::Contains("fails its integrity check") && Catch::Contains("CRC-32"));
}

TEST_CASE("Ctrl-C writes a checkpoint, records the run as killed and exits 130",
          "[e2e][run][signal]") {
  TempDir dir;
  const int code =
      interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun, SIGINT);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 130);
  auto row = query(dir, "SELECT status, exit_code, error, run_dir FROM runs");
  REQUIRE(row.size() == 1);
  CHECK(row[0][0] == "killed");
  CHECK(row[0][1] == "130");
  CHECK(contains(row[0][2], "Interrupt"));
  CHECK(fs::exists(row[0][3] + "/checkpoints/last.ckpt"));
  CHECK(query_one(dir, "SELECT count(*) FROM artifacts WHERE path LIKE '%last.ckpt'") == "1");
  CHECK(contains(test_support::read_file(dir.str("out.txt")),
                 "resume with: fabric-exp run --resume"));
}

TEST_CASE("resuming what cannot be resumed says why", "[e2e][run][errors]") {
  TempDir dir;
  auto none = fabric_exp(dir, "run --resume zzzz");
  CHECK(none.exit_code == 1);
  CHECK(contains(none.output, "no run 'zzzz'"));
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " run.max_epochs=1").exit_code ==
      0);
  auto done = fabric_exp(dir, "run --resume last");
  CHECK(done.exit_code == 1);
  CHECK(contains(done.output, "already finished"));
}

TEST_CASE("a kill -9'd run is listed as failed", "[e2e][run][kill9]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  const int code =
      interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun, SIGKILL);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 137);
  CHECK(query_one(dir, "SELECT status FROM runs") == "running");  // nobody closed it...
  auto listed = fabric_exp(dir, "runs --format csv --columns error");
  INFO(listed.output);
  CHECK(contains(listed.output, ",failed,"));  // ...but it is shown as failed
  CHECK(contains(listed.output, "is gone; no heartbeat since"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "failed");
}
