#include "sweep/sweep_store.hpp"
#include "common/error.hpp"
#include "common/printable.hpp"
#include "store/folder_name.hpp"

#include <unistd.h>

#include <algorithm>

#include <filesystem>

namespace fabric::sweep {

using store::SqlValue;
namespace fs = std::filesystem;
using store::Status;

namespace {

const char* kSweepColumns =
    "id, name, experiment, status, method, coalesce(objective,''), coalesce(direction,''), "
    "coalesce(summary,'last'), spec, coalesce(recipe_path,''), coalesce(recipe_text,''), "
    "base_recipe, sweep_dir, coalesce(host,''), seed, max_trials, parallel, coalesce(pid,0), "
    "created_at, coalesce(ended_at,0), coalesce(heartbeat_at,0)";

SweepRecord read_sweep(store::Statement& st) {
  SweepRecord s;
  std::string status;
  std::string* texts[] = {&s.id,          &s.name,        &s.experiment, &status, &s.method,
                          &s.objective,   &s.direction,   &s.summary,    &s.spec, &s.recipe_path,
                          &s.recipe_text, &s.base_recipe, &s.sweep_dir,  &s.host};
  for (int i = 0; i < 14; ++i) *texts[i] = st.text(i);
  s.status = store::parse_status(status);
  s.seed = st.integer(14);
  s.max_trials = st.integer(15);
  s.parallel = st.integer(16);
  s.pid = st.integer(17);
  s.created_at = st.real(18);
  s.ended_at = st.real(19);
  s.heartbeat_at = st.real(20);
  return s;
}

const char* kTrialColumns =
    "number, coalesce(run_id,''), status, params, coalesce(error,''), value, pruned_report, "
    "pruned_rung, pruned_value, pruned_threshold, coalesce(started_at,0), coalesce(ended_at,0)";

TrialRecord read_trial(store::Statement& st) {
  TrialRecord t;
  t.number = st.integer(0);
  t.run_id = st.text(1);
  t.status = store::parse_status(st.text(2));
  t.params = st.text(3);
  t.error = st.text(4);
  if (!st.is_null(5)) t.value = st.real(5);
  if (!st.is_null(6)) t.pruned_report = st.integer(6);
  if (!st.is_null(7)) t.pruned_rung = st.integer(7);
  if (!st.is_null(8)) t.pruned_value = st.real(8);
  if (!st.is_null(9)) t.pruned_threshold = st.real(9);
  t.started_at = st.real(10);
  t.ended_at = st.real(11);
  return t;
}

SqlValue text_or_null(const std::string& s) {
  return s.empty() ? SqlValue{} : SqlValue{s};
}

}  // namespace

std::vector<TrialRecord> ranked_trials(std::vector<TrialRecord> trials, bool minimize) {
  std::stable_sort(trials.begin(), trials.end(), [&](const TrialRecord& a, const TrialRecord& b) {
    const bool fa = a.status == Status::Finished && a.value,
               fb = b.status == Status::Finished && b.value;
    if (fa != fb) return fa;
    if (!fa) return a.number < b.number;
    return minimize ? *a.value < *b.value : *a.value > *b.value;
  });
  return trials;
}

const TrialRecord* best_trial(const std::vector<TrialRecord>& ranked) {
  if (ranked.empty() || ranked.front().status != Status::Finished || !ranked.front().value)
    return nullptr;
  return &ranked.front();
}

std::vector<Observation> observations(const exp::SearchSpace& space,
                                      const std::vector<TrialRecord>& trials, bool finished_only) {
  std::vector<Observation> out;
  for (const auto& t : trials) {
    const bool pruned = t.status == Status::Pruned;
    if (t.status == Status::Running && !finished_only) {
      out.push_back({point_from_toml(space, t.params), 0, false, true});
      continue;
    }
    if (!t.value || !(t.status == Status::Finished || (pruned && !finished_only))) continue;
    out.push_back({point_from_toml(space, t.params), *t.value, pruned, false});
  }
  return out;
}

std::string SweepStore::create(SweepRecord s, const std::string& runs_root) {
  if (auto problem = store::folder_name_problem(s.name); !problem.empty()) {
    throw UsageError("sweep name '" + fabric::printable(s.name) +
                     "' cannot name a folder: " + problem);
  }
  db_.transaction([&] {
    auto exists = db_.prepare("SELECT 1 FROM sweeps WHERE id = ?");
    do {
      s.id = store::new_short_id();
      exists.reset();
      exists.bind(1, s.id);
    } while (exists.step());
    s.sweep_dir =
        (fs::absolute(runs_root) / "sweeps" / (s.name + "-" + s.id)).lexically_normal().string();
    s.status = Status::Running;
    s.host = store::hostname();
    s.pid = int64_t(getpid());
    s.created_at = s.heartbeat_at = db_.now();
    insert(s);
    fs::create_directories(s.sweep_dir);
  });
  return s.id;
}

void SweepStore::insert(const SweepRecord& s) {
  db_.prepare(
         "INSERT INTO sweeps (id, name, experiment, status, method, objective, direction, "
         "summary, spec, recipe_path, recipe_text, base_recipe, seed, max_trials, parallel, "
         "sweep_dir, host, pid, created_at, heartbeat_at) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind_all({s.id,
                 s.name,
                 s.experiment,
                 status_name(s.status),
                 s.method,
                 text_or_null(s.objective),
                 text_or_null(s.direction),
                 s.summary,
                 s.spec,
                 s.recipe_path,
                 s.recipe_text,
                 s.base_recipe,
                 s.seed,
                 s.max_trials,
                 s.parallel,
                 s.sweep_dir,
                 s.host,
                 s.pid,
                 s.created_at,
                 s.heartbeat_at})
      .run();
}

std::optional<SweepRecord> SweepStore::get(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT ") + kSweepColumns + " FROM sweeps WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_sweep(st);
}

std::string SweepStore::resolve(const std::string& ref) {
  return store::resolve_id(db_, "sweeps", "sweep", ref);
}

std::vector<SweepRecord> SweepStore::list() {
  auto st = db_.prepare(std::string("SELECT ") + kSweepColumns +
                        " FROM sweeps ORDER BY created_at DESC, rowid DESC");
  std::vector<SweepRecord> out;
  while (st.step()) out.push_back(read_sweep(st));
  return out;
}

void SweepStore::set_status(const std::string& id, Status status) {
  const bool ended = status != Status::Running;
  db_.prepare("UPDATE sweeps SET status = ?, ended_at = ?, heartbeat_at = ? WHERE id = ?")
      .bind_all({status_name(status), ended ? SqlValue{db_.now()} : SqlValue{}, db_.now(), id})
      .run();
}

void SweepStore::reopen(const std::string& id) {
  db_.prepare(
         "UPDATE sweeps SET status = 'running', ended_at = NULL, heartbeat_at = ?, host = ?, "
         "pid = ? WHERE id = ?")
      .bind_all({db_.now(), store::hostname(), int64_t(getpid()), id})
      .run();
}

void SweepStore::heartbeat(const std::string& id) {
  db_.prepare(
         "UPDATE sweeps SET heartbeat_at = ?, host = ?, pid = ?, status = 'running', ended_at = "
         "NULL WHERE id = ? AND status IN ('running', 'stopped')")
      .bind_all({db_.now(), store::hostname(), int64_t(getpid()), id})
      .run();
}

void SweepStore::leave(const std::string& id) {
  db_.prepare("UPDATE sweeps SET pid = 0 WHERE id = ? AND pid = ? AND host = ?")
      .bind_all({id, int64_t(getpid()), store::hostname()})
      .run();
}

void SweepStore::fail_trials_of_failed_runs() {
  // Looked for first: listing sweeps takes no write lock when there is nothing to record.
  auto any = db_.prepare(
      "SELECT 1 FROM trials WHERE status = 'running' AND run_id IN (SELECT id FROM runs WHERE "
      "status = 'failed') LIMIT 1");
  if (!any.step()) return;
  db_.prepare(
         "UPDATE trials SET status = 'failed', ended_at = ?, error = (SELECT 'its run ' || "
         "runs.id || ' failed: ' || coalesce(runs.error, '') FROM runs WHERE runs.id = "
         "trials.run_id) WHERE status = 'running' AND run_id IN (SELECT id FROM runs WHERE "
         "status = 'failed')")
      .bind(1, db_.now())
      .run();
}

int SweepStore::reap_stale() {
  if (runs_.read_only()) return 0;  // an archive: shown as it was recorded
  // A trial whose run died (its process gone, or two heartbeats missed) has failed.
  runs_.reap_stale();
  fail_trials_of_failed_runs();
  std::vector<std::pair<std::string, double>> dead;  // id, the heartbeat it was judged on
  {
    auto st = db_.prepare(
        "SELECT id, host, pid, coalesce(heartbeat_at, 0) FROM sweeps WHERE status = "
        "'running'");
    const std::string host = store::hostname();
    const double cutoff = db_.now() - 2 * kSweepHeartbeatSeconds;
    // The row names the last process that beat it, one of possibly many workers: that one
    // gone says nothing of the others. A sweep is live while any of its trials' runs is (the
    // runs were reaped just above, each by its own process or heartbeat).
    auto live_trial = db_.prepare(
        "SELECT 1 FROM trials JOIN runs ON runs.id = trials.run_id WHERE trials.sweep_id = ? "
        "AND trials.status = 'running' AND runs.status = 'running' LIMIT 1");
    while (st.step()) {
      const int64_t pid = st.integer(2);
      if (!((pid > 0 && st.text(1) == host && store::process_gone(pid)) || st.real(3) < cutoff))
        continue;
      live_trial.bind(1, st.text(0));
      const bool live = live_trial.step();
      live_trial.reset();
      if (!live) dead.emplace_back(st.text(0), st.real(3));
    }
  }
  // Guarded: a heartbeat between the read and this write keeps the sweep running.
  int stopped = 0;
  for (const auto& [id, beat] : dead) {
    auto st = db_.prepare(
        "UPDATE sweeps SET status = 'stopped', ended_at = ? WHERE id = ? AND status = 'running' "
        "AND coalesce(heartbeat_at, 0) = ? RETURNING id");
    st.bind_all({db_.now(), id, beat});
    stopped += st.step();
  }
  return stopped;
}

std::vector<TrialRecord> SweepStore::trials(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT ") + kTrialColumns +
                        " FROM trials WHERE sweep_id = ? ORDER BY number");
  st.bind(1, id);
  std::vector<TrialRecord> out;
  while (st.step()) out.push_back(read_trial(st));
  return out;
}

std::optional<TrialRecord> SweepStore::trial(const std::string& id, int64_t number) {
  auto st = db_.prepare(std::string("SELECT ") + kTrialColumns +
                        " FROM trials WHERE sweep_id = ? AND number = ?");
  st.bind_all({id, number});
  if (!st.step()) return std::nullopt;
  return read_trial(st);
}

void SweepStore::start_trial(const std::string& id, int64_t number, const std::string& params,
                             const std::string& run_id) {
  db_.transaction([&] {
    auto st = db_.prepare(
        "INSERT INTO trials (sweep_id, number, run_id, status, params, started_at) "
        "VALUES (?1,?2,?3,'running',?4,?5) ON CONFLICT (sweep_id, number) DO UPDATE SET "
        "run_id = ?3, status = 'running', params = ?4, started_at = ?5, ended_at = NULL, "
        "error = NULL, value = NULL WHERE trials.status NOT IN ('finished', 'pruned') "
        "RETURNING number");
    st.bind_all({id, number, text_or_null(run_id), params, db_.now()});
    if (!st.step()) throw_ended(id, number, "not started again");
  });
}

std::optional<SweepStore::Claim> SweepStore::claim_trial(
    const std::string& id,
    const std::function<std::string(int64_t number, const std::vector<TrialRecord>& trials)>&
        propose) {
  runs_.reap_stale();
  std::optional<Claim> claim;
  db_.transaction([&] {
    claim.reset();
    // Claimers take turns on the sweep's row (SQLite: the write lock BEGIN IMMEDIATE took).
    // The claimer beats the row as its own: the row's pid is always the latest process that
    // worked on the sweep.
    auto lock = db_.prepare(
        "UPDATE sweeps SET heartbeat_at = ?, host = ?, pid = ? WHERE id = ? RETURNING max_trials");
    lock.bind_all({db_.now(), store::hostname(), int64_t(getpid()), id});
    if (!lock.step()) throw store::StoreError("sweep " + id + " is not in the store");
    const int64_t max_trials = lock.integer(0);
    fail_trials_of_failed_runs();
    auto waiting = db_.prepare(
        "SELECT number, params FROM trials WHERE sweep_id = ? AND status IN ('queued', "
        "'killed') ORDER BY number LIMIT 1");
    waiting.bind(1, id);
    if (waiting.step()) {
      claim = Claim{waiting.integer(0), true, waiting.text(1)};
      db_.prepare(
             "UPDATE trials SET status = 'running', started_at = ? WHERE sweep_id = ? AND "
             "number = ?")
          .bind_all({db_.now(), id, claim->number})
          .run();
      return;
    }
    auto taken = db_.prepare(
        "SELECT count(*), coalesce(max(number) + 1, 0) FROM trials WHERE "
        "sweep_id = ?");
    taken.bind(1, id);
    taken.step();
    if (taken.integer(0) >= max_trials) return;
    const int64_t number = taken.integer(1);
    const std::string params = propose(number, trials(id));
    db_.prepare(
           "INSERT INTO trials (sweep_id, number, status, params, started_at) VALUES "
           "(?,?,'running',?,?)")
        .bind_all({id, number, params, db_.now()})
        .run();
    claim = Claim{number, false, params};
  });
  return claim;
}

void SweepStore::requeue_trial(const std::string& id, int64_t number) {
  db_.prepare(
         "UPDATE trials SET status = 'queued' WHERE sweep_id = ? AND number = ? AND status = "
         "'running'")
      .bind_all({id, number})
      .run();
}

void SweepStore::queue_trial(const std::string& id, int64_t number, const std::string& params) {
  db_.prepare("INSERT INTO trials (sweep_id, number, status, params) VALUES (?,?,'queued',?)")
      .bind_all({id, number, params})
      .run();
}

void SweepStore::attach_run(const std::string& id, int64_t number, const std::string& run_id) {
  db_.prepare("UPDATE trials SET run_id = ? WHERE sweep_id = ? AND number = ?")
      .bind_all({run_id, id, number})
      .run();
}

void SweepStore::end_trial(const std::string& id, int64_t number, Status status,
                           std::optional<double> value, const std::string& error) {
  db_.transaction([&] {
    auto st = db_.prepare(
        "UPDATE trials SET status = ?, value = ?, error = ?, ended_at = ? "
        "WHERE sweep_id = ? AND number = ? AND status NOT IN ('finished', 'failed', 'pruned') "
        "RETURNING number");
    st.bind_all({status_name(status), value ? SqlValue{*value} : SqlValue{}, text_or_null(error),
                 db_.now(), id, number});
    if (!st.step()) throw_ended(id, number, std::string("not recorded as ") + status_name(status));
  });
}

void SweepStore::throw_ended(const std::string& id, int64_t number,
                             const std::string& consequence) {
  auto trial = this->trial(id, number);
  throw store::StateConflict(
      "trial " + std::to_string(number) + " of sweep " + id +
      (trial ? " has already ended (" + std::string(status_name(trial->status)) + ")"
             : " is not in the store") +
      "; " + consequence);
}

void SweepStore::record_prune(const std::string& id, int64_t number, const PruneRecord& p) {
  db_.prepare(
         "UPDATE trials SET pruned_report = ?, pruned_rung = ?, pruned_value = ?, "
         "pruned_threshold = ? WHERE sweep_id = ? AND number = ?")
      .bind_all(
          {p.report, p.rung ? SqlValue{*p.rung} : SqlValue{}, p.value, p.threshold, id, number})
      .run();
}

std::optional<double> SweepStore::objective_value(const std::string& run_id, const std::string& key,
                                                  const std::string& summary) {
  // `summary` is one of three constants, never user text pasted into SQL.
  const std::string column = summary == "min" ? "min" : summary == "max" ? "max" : "last";
  auto st = db_.prepare("SELECT " + column + " FROM metric_summary WHERE run_id = ? AND key = ?");
  st.bind_all({run_id, key});
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.real(0);
}

std::vector<std::vector<double>> SweepStore::finished_curves(const std::string& id,
                                                             const std::string& key,
                                                             int64_t except) {
  auto st = db_.prepare(
      "SELECT t.number, m.value FROM trials t JOIN metrics m ON m.run_id = t.run_id "
      "WHERE t.sweep_id = ? AND t.status = 'finished' AND t.number != ? AND m.key = ? "
      "ORDER BY t.number, m.step");
  st.bind_all({id, except, key});
  std::vector<std::vector<double>> out;
  int64_t current = -1;
  while (st.step()) {
    if (st.integer(0) != current) {
      current = st.integer(0);
      out.emplace_back();
    }
    out.back().push_back(st.real_or_nan(1));
  }
  return out;
}

std::vector<double> SweepStore::enter_rung(const std::string& id, int64_t rung, int64_t number,
                                           double value) {
  std::vector<double> values;
  db_.transaction([&] {
    db_.prepare(
           "INSERT INTO sweep_rungs (sweep_id, rung, number, value) VALUES (?,?,?,?) "
           "ON CONFLICT (sweep_id, rung, number) DO UPDATE SET value = excluded.value")
        .bind_all({id, rung, number, value})
        .run();
    auto st = db_.prepare("SELECT value FROM sweep_rungs WHERE sweep_id = ? AND rung = ?");
    st.bind_all({id, rung});
    while (st.step()) values.push_back(st.real(0));
  });
  return values;
}

}  // namespace fabric::sweep
