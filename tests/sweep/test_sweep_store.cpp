// Sweeps in the store: trials claimed by many workers at once, heartbeats, and when a sweep is
// alive (any process beating it, or any trial's run), on both store backends.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "sweep/controller.hpp"
#include "sweep/sweep_store.hpp"

namespace sweep = fabric::sweep;

namespace {

/// A random sweep's record, as `fabric-exp sweep` would create it.
fabric::sweep::SweepRecord random_sweep(const std::string& name, int64_t max_trials) {
  fabric::sweep::SweepRecord s;
  s.name = name;
  s.experiment = "e";
  s.method = "random";
  s.spec = "method = \"random\"";
  s.max_trials = max_trials;
  return s;
}

}  // namespace

TEST_CASE("16 workers claiming one sweep's trials at once take each number exactly once",
          "[sweep][claim][concurrency]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  test_support::TempDir dir;
  const std::string location = test_support::fresh_store(backend, dir);
  std::string id;
  {
    fabric::store::RunStore runs(location);
    fabric::sweep::SweepStore sweeps(runs);
    id = sweeps.create(random_sweep("claims", 200), dir.str("runs"));
  }
  const std::string claimer = (test_support::exe_dir() / "sweep_claimer").string();
  auto r = test_support::run_at_once(
      16, [&](int) { return claimer + " '" + location + "' " + id; }, dir, "c");
  std::multiset<int> got;
  std::string other;
  int workers_with_claims = 0;
  for (int i = 0; i < 16; ++i) {
    std::istringstream out(test_support::read_file(dir.str("c" + std::to_string(i))));
    bool any = false;
    for (std::string line; std::getline(out, line);) {
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
        got.insert(std::stoi(line));
        any = true;
      } else {
        other += line + "\n";
      }
    }
    workers_with_claims += any;
  }
  INFO(other);
  REQUIRE(r.exit_code == 0);
  CHECK(other.empty());
  CHECK(got.size() == 200);
  CHECK(std::set<int>(got.begin(), got.end()).size() == 200);  // no number twice
  CHECK(*got.begin() == 0);
  CHECK(*got.rbegin() == 199);
  CHECK(workers_with_claims > 1);
  fabric::store::RunStore runs(location);
  fabric::sweep::SweepStore sweeps(runs);
  const auto trials = sweeps.trials(id);
  REQUIRE(trials.size() == 200);
  for (const auto& t : trials) {
    CHECK(t.status == fabric::store::Status::Finished);
    CHECK(t.value == double(t.number));
  }
  // An ended trial is not ended again, nor started again.
  CHECK_THROWS_AS(sweeps.end_trial(id, 5, fabric::store::Status::Failed, std::nullopt, "late"),
                  fabric::store::StateConflict);
  CHECK_THROWS_AS(sweeps.start_trial(id, 5, "x = 5"), fabric::store::StateConflict);
  CHECK(sweeps.trial(id, 5)->status == fabric::store::Status::Finished);
}

TEST_CASE("a sweep runs while any process beats it, and is stopped when nobody does",
          "[sweep][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  using fabric::store::Status;
  test_support::TempDir dir;
  fabric::store::RunStore runs(test_support::fresh_store(backend, dir));
  fabric::sweep::SweepStore sweeps(runs);
  const std::string id = sweeps.create(random_sweep("beats", 4), dir.str("runs"));
  auto set = [&](const std::string& assignments, double beat_age) {
    runs.db()
        .prepare("UPDATE sweeps SET " + assignments + ", heartbeat_at = ? WHERE id = ?")
        .bind_all({runs.db().now() - beat_age, id})
        .run();
  };
  // Its creator (this process) lives: running.
  CHECK(sweeps.reap_stale() == 0);
  CHECK(sweeps.get(id)->status == Status::Running);
  // Last beaten on another host one period ago: a worker there may beat again.
  set("host = 'elsewhere', pid = 1", fabric::sweep::kSweepHeartbeatSeconds);
  CHECK(sweeps.reap_stale() == 0);
  // Two periods without a beat: nobody works on it.
  set("host = 'elsewhere', pid = 1", 2 * fabric::sweep::kSweepHeartbeatSeconds + 1);
  CHECK(sweeps.reap_stale() == 1);
  CHECK(sweeps.get(id)->status == Status::Stopped);
  // A worker outlived whoever stopped it: its heartbeat runs the sweep again, as its process.
  sweeps.heartbeat(id);
  auto again = sweeps.get(id);
  CHECK(again->status == Status::Running);
  CHECK(again->pid == int64_t(getpid()));
  CHECK(again->host == fabric::store::hostname());
  // A process that leaves it to workers elsewhere is no longer watched, only their heartbeats.
  set("pid = 99999999", 0);  // no such process on this host
  sweeps.leave(id);          // not this process's: nothing changes
  CHECK(sweeps.reap_stale() == 1);
  sweeps.heartbeat(id);
  sweeps.leave(id);
  CHECK(sweeps.get(id)->pid == 0);
  CHECK(sweeps.reap_stale() == 0);
  set("pid = 0", 2 * fabric::sweep::kSweepHeartbeatSeconds + 1);
  CHECK(sweeps.reap_stale() == 1);
  // An ended sweep is never brought back.
  sweeps.set_status(id, Status::Finished);
  sweeps.heartbeat(id);
  CHECK(sweeps.get(id)->status == Status::Finished);
}

TEST_CASE(
    "a sweep lives while a trial's run does: its controller's death stops nothing, and "
    "--resume is refused rather than run the trial twice",
    "[sweep][heartbeat]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  using fabric::store::Status;
  test_support::TempDir dir;
  const std::string store = test_support::fresh_store(backend, dir);
  fabric::store::RunStore runs(store);
  fabric::sweep::SweepStore sweeps(runs);
  const std::string id = sweeps.create(random_sweep("killed-controller", 4), dir.str("runs"));
  // Trial 0 runs in this process (its run's pid is ours, and beats).
  sweeps.start_trial(id, 0, "x = 0");
  fabric::store::NewRun nr;
  nr.name = "trial-0";
  nr.runs_root = dir.str("runs");
  const std::string run = runs.create_run(nr);
  sweeps.attach_run(id, 0, run);
  // The process the sweep row names (the controller, or one of several workers) is killed.
  runs.db().prepare("UPDATE sweeps SET pid = 99999999 WHERE id = ?").bind_all({id}).run();
  CHECK(sweeps.reap_stale() == 0);
  CHECK(sweeps.get(id)->status == Status::Running);
  fabric::sweep::SweepRequest resume;
  resume.store = store;
  resume.resume = id;
  CHECK_THROWS_WITH(fabric::sweep::run_sweep(resume), Catch::Contains("is running"));
  CHECK(sweeps.trial(id, 0)->status == Status::Running);  // not requeued for a second process
  CHECK(sweeps.trial(id, 0)->run_id == run);
  // Its trial's process dies too: the run is failed, the sweep stopped, and resumable.
  runs.db().prepare("UPDATE runs SET pid = 99999999 WHERE id = ?").bind_all({run}).run();
  CHECK(sweeps.reap_stale() == 1);
  CHECK(sweeps.get(id)->status == Status::Stopped);
  CHECK(runs.get(run)->status == Status::Failed);
}
