// The run store as processes use it: migration, several writers at once, dead runs, resumes;
// each case that does not need SQLite itself runs on both backends.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "present/run_listing.hpp"
#include "store/metric_writer.hpp"
#include "store/run_query.hpp"
#include "store/run_store.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"

using namespace fabric::store;
namespace fs = std::filesystem;

namespace {
/// A run called `name` with its folder under the test's directory.
NewRun new_run(const test_support::TempDir& dir, const std::string& name) {
  NewRun r;
  r.name = name;
  r.runs_root = dir.str("runs");
  return r;
}
}  // namespace

namespace {
/// A store at `location` as a fabric-exp of schema version `version` left it.
std::unique_ptr<Database> store_at_version(const std::string& location, int version) {
  auto db = open_database(location);
  db->transaction([&] {
    db->lock_schema();
    for (int v = 0; v < version; ++v) db->exec(db->translate_ddl(migrations()[size_t(v)]));
    db->set_schema_version(version);
  });
  return db;
}
}  // namespace

TEST_CASE("opening a version-1 store migrates it and keeps its runs", "[store][migration]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string path = test_support::fresh_store(backend, dir);
  {
    // A store as fabric-exp wrote it before migration 2.
    auto db = store_at_version(path, 1);
    db->exec(
        "INSERT INTO runs (id, name, experiment, status, created_at) VALUES ('oldrun12', 'old', "
        "'e', "
        "'finished', 1.0)");
    db->exec(
        "INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES ('oldrun12', "
        "'loss', 3, 0, 0.5, 1.0)");
  }
  RunStore store(path);
  CHECK(store.schema_version() == current_schema_version());
  CHECK(current_schema_version() == 3);
  auto run = store.get("oldrun12");
  REQUIRE(run);
  CHECK(run->name == "old");
  CHECK(run->note.empty());
  CHECK(store.metrics("oldrun12", {}).size() == 1);
  // New runs use the new column.
  NewRun r;
  r.name = "new";
  r.runs_root = dir.str("runs");
  r.note = "after migration";
  CHECK(store.get(store.create_run(r))->note == "after migration");
  // A store newer than this binary is refused rather than misread.
  {
    auto db = open_database(path);
    db->transaction([&] { db->set_schema_version(99); });
  }
  CHECK_THROWS_WITH(RunStore(path), Catch::Contains("newer than this fabric-exp"));
}

TEST_CASE("opening a version-2 store adds the sweep tables and keeps its runs",
          "[store][migration]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string path = test_support::fresh_store(backend, dir);
  {
    auto db = store_at_version(path, 2);
    db->exec(
        "INSERT INTO runs (id, name, experiment, status, created_at, note) VALUES ('v2run123', "
        "'old', 'e', 'finished', 1.0, 'kept')");
  }
  RunStore store(path);
  CHECK(store.schema_version() == 3);
  CHECK(store.get("v2run123")->note == "kept");
  // The new tables exist and link to runs: a trial's run may be deleted, the trial stays.
  store.db().exec(
      "INSERT INTO sweeps (id, name, experiment, status, method, spec, base_recipe, seed, "
      "max_trials, parallel, sweep_dir, created_at) VALUES ('sw', 'n', 'e', 'running', 'grid', "
      "'', '', 0, 1, 1, '/tmp', 1.0)");
  store.db().exec(
      "INSERT INTO trials (sweep_id, number, run_id, status, params) VALUES ('sw', 0, "
      "'v2run123', 'finished', '')");
  store.delete_run("v2run123");
  auto st = store.db().prepare("SELECT run_id, status FROM trials");
  REQUIRE(st.step());
  CHECK(st.is_null(0));
  CHECK(st.text(1) == "finished");
}

TEST_CASE("the checked-in schema is the one the code creates", "[store][schema]") {
  CHECK(test_support::read_file(std::string(FABRIC_SOURCE_DIR) + "/schemas/store.sql") ==
        schema_sql());
}

TEST_CASE("four processes writing metrics to one store at once lose no row",
          "[store][concurrency]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string writer = (test_support::exe_dir() / "store_writer").string();
  const std::string store = test_support::fresh_store(backend, dir);
  auto r = test_support::run_at_once(
      4, [&](int) { return writer + " '" + store + "' 2000 5"; }, dir, "w");
  std::string logs;  // one INFO outside the loop: an INFO lives only to the end of its scope
  for (int i = 0; i < 4; ++i) logs += test_support::read_file(dir.str("w" + std::to_string(i)));
  INFO(logs);
  REQUIRE(r.exit_code == 0);
  RunStore s(store);
  auto rows =
      s.db().prepare("SELECT run_id, count(*), count(DISTINCT key) FROM metrics GROUP BY run_id");
  int runs = 0;
  while (rows.step()) {
    ++runs;
    CHECK(rows.integer(1) == 10000);
    CHECK(rows.integer(2) == 5);
  }
  CHECK(runs == 4);
  auto summary =
      s.db().prepare("SELECT count(*) FROM metric_summary WHERE last = 1999 AND count = 2000");
  summary.step();
  CHECK(summary.integer(0) == 20);
}

TEST_CASE("many processes opening one new store at once all get in", "[store][concurrency]") {
  // The first opens of a new file race to switch it to WAL, a lock SQLite does not wait for by
  // itself: before the store retried it, about 1 open in 60 failed with "database is locked"
  // (and this test failed 4 runs of 4).
  test_support::TempDir dir;
  const std::string writer = (test_support::exe_dir() / "store_writer").string();
  std::string script = "export TMPDIR=" + dir.str() + "\nfail=0\n";
  for (int round = 0; round < 24; ++round) {
    const std::string store = dir.str("fresh" + std::to_string(round) + ".db");
    for (int i = 0; i < 8; ++i)
      script += writer + " " + store + " 1 1 >> " + dir.str("log") + " 2>&1 &\n";
    script += "for j in $(jobs -p); do wait $j || fail=1; done\n";
  }
  script += "exit $fail\n";
  std::ofstream(dir.str("run.sh")) << script;
  auto r = test_support::run_command("bash " + dir.str("run.sh"));
  INFO(test_support::read_file(dir.str("log")));
  CHECK(r.exit_code == 0);
}

TEST_CASE("replayed steps of a resumed run overwrite instead of duplicating", "[store][resume]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  NewRun r = new_run(dir, "resumed");
  auto id = s.create_run(r);
  s.log_metrics(id, {{"loss", 1, 0, 3.0, 0}, {"loss", 2, 0, 2.0, 0}, {"loss", 3, 0, 9.0, 0}});
  // The run died after step 3 and resumed from a checkpoint at step 2: steps 3.. are replayed.
  s.log_metrics(id, {{"loss", 3, 0, 1.5, 0}, {"loss", 4, 0, 1.0, 0}});
  auto points = s.metrics(id, {"loss"});
  REQUIRE(points.size() == 4);
  CHECK(points[2].value == 1.5);
  auto summary = s.summaries(id);
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].max == 3.0);  // the overwritten 9.0 is gone from the summary too
  CHECK(summary[0].last == 1.0);
  CHECK(summary[0].count == 4);
}

TEST_CASE("summaries kept up batch by batch equal those of every row: NaN, ties, replayed steps",
          "[store][summary]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  const auto id = s.create_run(new_run(dir, "summarized"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::mt19937 random(11);
  // Few distinct values, so that ties are common; NaN one time in six.
  std::uniform_int_distribution<int> pick(0, 5);
  std::map<std::string, std::map<int64_t, double>> rows;  // what metrics holds
  int64_t step = 0;
  for (int batch = 0; batch < 60; ++batch) {
    // Now and then a resume: the next batch starts a few steps back and overwrites them.
    if (batch % 13 == 12) step = std::max<int64_t>(0, step - 5);
    std::vector<MetricPoint> points;
    for (int i = 0; i < 8; ++i, ++step) {
      for (const std::string key : {"a", "b"}) {
        if (key == "b" && step % 3) continue;  // keys with their own steps
        const int v = pick(random);
        points.push_back({key, step, 0, v == 5 ? nan : double(v % 3), 0});
      }
    }
    s.log_metrics(id, points);
    for (const auto& p : points) rows[p.key][p.step] = p.value;
    const auto summaries = s.summaries(id);
    REQUIRE(summaries.size() == rows.size());
    for (const auto& got : summaries) {
      INFO(backend << " batch " << batch << " key " << got.key);
      const auto& curve = rows.at(got.key);
      double lo = nan, hi = nan;
      int64_t lo_step = 0, hi_step = 0;
      for (const auto& [k, v] : curve) {  // by step: a tie keeps the earliest
        if (std::isnan(v)) continue;
        if (std::isnan(lo) || v < lo) lo = v, lo_step = k;
        if (std::isnan(hi) || v > hi) hi = v, hi_step = k;
      }
      CHECK(got.count == int64_t(curve.size()));
      CHECK(got.last_step == curve.rbegin()->first);
      const double last = curve.rbegin()->second;
      CHECK((std::isnan(got.last) ? std::isnan(last) : got.last == last));
      CHECK((std::isnan(got.min) ? std::isnan(lo) : got.min == lo));
      CHECK((std::isnan(got.max) ? std::isnan(hi) : got.max == hi));
      if (!std::isnan(lo)) CHECK(got.min_step == lo_step);
      if (!std::isnan(hi)) CHECK(got.max_step == hi_step);
    }
  }
}

TEST_CASE("a NaN metric reads back as NaN and never becomes a run's best or worst value",
          "[store][nan]") {
  // SQLite stores a bound NaN as NULL; read as a plain double it would be 0, a perfect loss.
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  NewRun r = new_run(dir, "diverged");
  auto id = s.create_run(r);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.log_metrics(id, {{"loss", 1, 0, 2.0, 0},
                     {"loss", 2, 0, nan, 0},
                     {"loss", 3, 0, 0.5, 0},
                     {"loss", 4, 0, nan, 0}});
  auto points = s.metrics(id, {"loss"});
  REQUIRE(points.size() == 4);
  CHECK(std::isnan(points[1].value));
  CHECK(std::isnan(points[3].value));
  std::vector<double> streamed;
  s.for_each_point(id, "loss", [&](int64_t, double v) { streamed.push_back(v); });
  REQUIRE(streamed.size() == 4);
  CHECK(std::isnan(streamed[3]));
  CHECK(s.finite_point_count(id, "loss") == 2);
  auto summary = s.summaries(id);
  REQUIRE(summary.size() == 1);
  CHECK(std::isnan(summary[0].last));  // it diverged at the end: that shows
  CHECK(summary[0].min == 0.5);
  CHECK(summary[0].min_step == 3);
  CHECK(summary[0].max == 2.0);
  CHECK(summary[0].count == 4);
  auto shown = fabric::present::list_runs(s, {"", "", {"metric"}, 10});
  REQUIRE(shown.rows.size() == 1);
  REQUIRE(shown.headers.back() == "metric");
  CHECK(std::get<std::string>(shown.rows[0].back()) == "loss nan");
}

TEST_CASE("a run whose process died is shown as failed", "[store][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  NewRun r = new_run(dir, "dead");
  auto id = s.create_run(r);
  // Pretend it ran in a process that has exited: a child that is already gone.
  auto child = test_support::run_command("sh -c 'echo $$'");
  s.db()
      .prepare("UPDATE runs SET pid = ? WHERE id = ?")
      .bind_all({int64_t(std::stoll(child.output)), id})
      .run();
  CHECK(s.reap_stale() == 1);
  auto run = s.get(id);
  CHECK(run->status == Status::Failed);
  CHECK_THAT(run->error, Catch::Contains("is gone; no heartbeat since"));
  // On another host only the heartbeat tells, and a writer may wait kReconnectSeconds for its
  // server without beating: only a beat older than that and two periods more is death.
  auto late = s.create_run(r), other = s.create_run(r);
  s.db()
      .prepare("UPDATE runs SET host = 'elsewhere', heartbeat_at = heartbeat_at - ? WHERE id = ?")
      .bind_all({kReconnectSeconds + kHeartbeatSeconds, late})
      .run();
  s.db()
      .prepare("UPDATE runs SET host = 'elsewhere', heartbeat_at = heartbeat_at - ? WHERE id = ?")
      .bind_all({kStaleSeconds + 1, other})
      .run();
  CHECK(s.reap_stale() == 1);
  CHECK(s.get(other)->error.rfind("no heartbeat since", 0) == 0);
  CHECK(s.get(late)->status == Status::Running);
  // A live run (this process) is left alone.
  auto live = s.create_run(r);
  CHECK(s.reap_stale() == 0);
  CHECK(s.get(live)->status == Status::Running);
}

namespace {
/// Makes run `id` one of a host that has been silent for 500 s, past kStaleSeconds, and reaps it.
void reap_as_lost_elsewhere(RunStore& s, const std::string& id) {
  s.db()
      .prepare("UPDATE runs SET host = 'elsewhere', heartbeat_at = heartbeat_at - 500 WHERE id = ?")
      .bind(1, id)
      .run();
  REQUIRE(s.reap_stale() == 1);
}
}  // namespace

TEST_CASE("a run whose process lives is never reaped, however old its heartbeat",
          "[store][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  NewRun r = new_run(dir, "alive");
  // A process of this host silent since just after it started (pid 1, up for longer than
  // kStaleSeconds: its store was out of reach, say): alive, so running.
  const double init_started = *process_started_at(1);
  REQUIRE(s.db().now() - init_started > kStaleSeconds);
  auto silent = s.create_run(r);
  s.db()
      .prepare("UPDATE runs SET pid = 1, heartbeat_at = ? WHERE id = ?")
      .bind_all({init_started + 1, silent})
      .run();
  CHECK(s.reap_stale() == 0);
  CHECK(s.get(silent)->status == Status::Running);
  // A pid that now names a process started after the run's last beat is not the run's.
  auto reused = s.create_run(r);
  s.db()
      .prepare("UPDATE runs SET pid = 1, heartbeat_at = ? WHERE id = ?")
      .bind_all({init_started - 3600, reused})
      .run();
  CHECK(s.reap_stale() == 1);
  CHECK_THAT(s.get(reused)->error, Catch::Contains("process 1 is gone"));
  CHECK(s.get(silent)->status == Status::Running);
}

TEST_CASE(
    "a run taken for dead while its process lived runs again when it writes; no point "
    "is lost",
    "[store][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  auto id = s.create_run(new_run(dir, "cut-off"));
  s.log_metrics(id, {{"loss", 1, 0, 2.0, 0}});
  // Another host reaped it: from there only the (old) heartbeat could be seen.
  reap_as_lost_elsewhere(s, id);
  s.db().prepare("UPDATE runs SET host = ? WHERE id = ?").bind_all({hostname(), id}).run();
  REQUIRE(s.get(id)->status == Status::Failed);
  // Its own process writes again: the run is running, every point is in.
  s.log_metrics(id, {{"loss", 2, 0, 1.0, 0}});
  CHECK(s.get(id)->status == Status::Running);
  CHECK(s.get(id)->error.empty());
  s.finish_run(id, Status::Finished, 0);
  CHECK(s.get(id)->status == Status::Finished);
  int64_t points = 0;
  s.for_each_point(id, "loss", [&](int64_t, double) { ++points; });
  CHECK(points == 2);
}

TEST_CASE("a run's writer beats its heartbeat every period, whatever its flush period",
          "[store][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string location = test_support::fresh_store(backend, dir);
  RunStore s(location);
  auto id = s.create_run(new_run(dir, "quiet"));
  auto beat = [&] {
    auto st = s.db().prepare("SELECT heartbeat_at FROM runs WHERE id = ?");
    st.bind(1, id);
    REQUIRE(st.step());
    return st.real(0);
  };
  const double created = beat();
  // Nothing logged and a flush period of an hour: the heartbeat still moves every 0.2 s.
  MetricWriter writer(location, id, /*flush_seconds=*/3600, /*heartbeat_seconds=*/0.2);
  double seen = created;
  for (int i = 0; i < 100 && seen <= created; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = beat();
  }
  CHECK(seen > created);
  // A point logged meanwhile waits for the flush period, or for flush().
  writer.add({"loss", 1, 0, 0.5, 0});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(s.metrics(id, {"loss"}).empty());
  writer.flush();
  CHECK(s.metrics(id, {"loss"}).size() == 1);
}

TEST_CASE("run ids: unique prefixes resolve, ambiguous ones are refused, last is the newest",
          "[store][ids]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  NewRun r = new_run(dir, "x");
  std::set<std::string> ids;
  std::string newest;
  for (int i = 0; i < 40; ++i) ids.insert(newest = s.create_run(r));
  CHECK(ids.size() == 40);
  CHECK(s.resolve("last") == newest);
  for (const auto& id : ids) {
    CHECK(id.size() == 8);
    CHECK(s.resolve(id) == id);
    // The shortest prefix no other id shares resolves to it.
    for (size_t n = 1; n <= 8; ++n) {
      const std::string prefix = id.substr(0, n);
      int sharing = 0;
      for (const auto& other : ids) sharing += other.rfind(prefix, 0) == 0;
      if (sharing == 1) {
        CHECK(s.resolve(prefix) == id);
        break;
      }
      CHECK_THROWS_WITH(s.resolve(prefix), Catch::Contains("ambiguous"));
    }
  }
  CHECK_THROWS_WITH(s.resolve("zzzzzzzzz"), Catch::Contains("no run 'zzzzzzzzz'"));
}

TEST_CASE("an ended run takes no more writes: the late writer is told, nothing changes",
          "[store][state]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  RunStore s(test_support::fresh_store(backend, dir));
  auto id = s.create_run(new_run(dir, "raced"));
  s.log_metrics(id, {{"loss", 1, 0, 2.0, 0}});
  // Another process decided it was dead (no heartbeat) and marked it failed.
  reap_as_lost_elsewhere(s, id);
  CHECK_THROWS_AS(s.log_metrics(id, {{"loss", 2, 0, 1.0, 0}}), StateConflict);
  CHECK_THROWS_WITH(s.finish_run(id, Status::Finished, 0),
                    Catch::Contains("has already ended (failed: no heartbeat since") &&
                        Catch::Contains("not recorded as finished"));
  CHECK(s.get(id)->status == Status::Failed);
  CHECK(s.metrics(id, {"loss"}).size() == 1);
  // A finished run is not finished twice either; a resumed one runs and finishes again.
  auto done = s.create_run(new_run(dir, "done"));
  s.finish_run(done, Status::Finished, 0);
  CHECK_THROWS_AS(s.finish_run(done, Status::Failed, 1, "late"), StateConflict);
  CHECK(s.get(done)->error.empty());
  s.reopen_run(done);
  s.log_metrics(done, {{"loss", 1, 0, 1.0, 0}});
  s.finish_run(done, Status::Finished, 0);
  CHECK(s.get(done)->status == Status::Finished);
}

TEST_CASE("32 processes record 20 runs each into one new PostgreSQL store at once: every row",
          "[store][concurrency][postgresql]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  test_support::TempDir dir;
  // An empty database: the 32 race to create the schema, which the advisory lock makes once.
  const std::string store = test_support::fresh_postgres_database();
  const std::string writer = (test_support::exe_dir() / "store_writer").string();
  auto r = test_support::run_at_once(
      32, [&](int) { return writer + " '" + store + "' 20 2 20"; }, dir, "w");
  std::set<std::string> ids;
  std::string errors;
  for (int i = 0; i < 32; ++i) {
    std::istringstream out(test_support::read_file(dir.str("w" + std::to_string(i))));
    for (std::string line; std::getline(out, line);) {
      if (line.size() == 8)
        ids.insert(line);
      else
        errors += line + "\n";
    }
  }
  INFO(errors);
  REQUIRE(r.exit_code == 0);
  CHECK(errors.empty());
  CHECK(ids.size() == 640);
  RunStore s(store);
  CHECK(s.schema_version() == current_schema_version());
  auto count = [&](const std::string& sql) {
    auto st = s.db().prepare(sql);
    st.step();
    return st.integer(0);
  };
  CHECK(count("SELECT count(*) FROM runs WHERE status = 'finished'") == 640);
  CHECK(count("SELECT count(*) FROM metrics") == 640 * 20 * 2);
  CHECK(count("SELECT count(*) FROM metric_summary WHERE count = 20 AND last = 19") == 640 * 2);
  CHECK(count("SELECT count(*) FROM fabric_exp_schema") == 1);
}
