#include "store/run_store.hpp"

#include "common/json.hpp"
#include "common/printable.hpp"
#include "store/folder_name.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include "store/schema.hpp"
#include "store/sqlite.hpp"

namespace fabric::store {

namespace fs = std::filesystem;

std::string default_store_path() {
  if (const char* env = std::getenv("FABRIC_EXP_STORE"); env && *env) return env;
  return "runs/fabric-exp.db";
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_short_id() {
  static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";
  std::random_device rd;
  std::mt19937_64 gen((uint64_t(rd()) << 32) ^ rd() ^ uint64_t(getpid()));
  std::string id;
  for (int i = 0; i < 8; ++i) id += alphabet[gen() % 32];
  return id;
}

namespace {

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return v;
}

std::string hash_text(const std::string& text) {
  return sha256_hex(text).substr(0, 16);  // 16 hex digits tell recipes apart
}

}  // namespace

RunStore::RunStore(const std::string& location)
    : location_(location), db_(open_database(location)) {
  // Migrations run under the schema lock (SQLite's write lock, PostgreSQL's advisory lock), so
  // that many processes opening a new store at once apply each migration exactly once.
  db_->transaction([&] {
    db_->lock_schema();
    int version = db_->schema_version();
    const auto& m = migrations();
    if (version > int(m.size())) {
      throw StoreError("run store '" + path() + "' has schema version " + std::to_string(version) +
                       ", newer than this fabric-exp (" + std::to_string(m.size()) +
                       "): upgrade fabric-exp");
    }
    for (; version < int(m.size()); ++version) {
      db_->exec(db_->translate_ddl(m[size_t(version)]));
      db_->set_schema_version(version + 1);
    }
  });
}

std::unique_ptr<RunStore> RunStore::open_read_only(const std::string& path) {
  check_store_location(path);
  if (is_store_url(path)) return std::make_unique<RunStore>(path);  // a server's permissions rule
  std::unique_ptr<RunStore> store(new RunStore());
  store->location_ = path;
  store->read_only_ = true;
  int version = 0;
  try {
    store->db_ = std::make_unique<SqliteDatabase>(path, /*read_only=*/true);
    version = store->schema_version();
  } catch (const StoreError&) {
    // A WAL store whose -shm file cannot be made here: read the file as it is, without locks.
    store->db_ = std::make_unique<SqliteDatabase>(path, /*read_only=*/true, /*immutable=*/true);
    version = store->schema_version();
  }
  if (version != int(migrations().size())) {
    throw StoreError("run store '" + path + "' is read-only and has schema version " +
                     std::to_string(version) + "; this fabric-exp reads version " +
                     std::to_string(migrations().size()) + " (copy it somewhere writable)");
  }
  return store;
}

int RunStore::schema_version() {
  return db_->schema_version();
}

std::string RunStore::create_run(const NewRun& run) {
  if (auto problem = folder_name_problem(run.name); !problem.empty())
    throw StoreError("run name '" + fabric::printable(run.name) +
                     "' cannot name a folder: " + problem);
  std::string id;
  db_->transaction([&] {
    auto exists = db_->prepare("SELECT 1 FROM runs WHERE id = ?");
    do {
      id = new_short_id();
      exists.reset();
      exists.bind(1, id);
    } while (exists.step());
    const std::string dir =
        (fs::absolute(run.runs_root) / (run.name + "-" + id)).lexically_normal().string();
    std::string overrides = "[";
    for (size_t i = 0; i < run.overrides.size(); ++i)
      overrides += (i ? "," : "") + json_string(run.overrides[i]);
    overrides += "]";
    std::string env = "{";
    for (auto it = run.env.begin(); it != run.env.end(); ++it)
      env += (it == run.env.begin() ? "" : ",") + json_string(it->first) + ":" +
             json_string(it->second);
    env += "}";
    const double now = db_->now();
    db_->prepare(
           "INSERT INTO runs (id, name, experiment, status, created_at, started_at, heartbeat_at, "
           "recipe_path, recipe_text, overrides, resolved, resolved_hash, seed, git_commit, "
           "git_dirty, host, pid, world_size, env, run_dir, parent, note) "
           "VALUES (?,?,?,'running',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        .bind_all({id,
                   run.name,
                   run.experiment,
                   now,
                   now,
                   now,
                   run.recipe_path,
                   run.recipe_text,
                   overrides,
                   run.resolved,
                   hash_text(run.resolved),
                   run.seed,
                   run.git_commit.empty() ? SqlValue{} : SqlValue{run.git_commit},
                   run.git_dirty ? SqlValue{int64_t(*run.git_dirty)} : SqlValue{},
                   hostname(),
                   int64_t(getpid()),
                   run.world_size,
                   env,
                   dir,
                   run.parent.empty() ? SqlValue{} : SqlValue{run.parent},
                   run.note.empty() ? SqlValue{} : SqlValue{run.note}})
        .run();
    auto param =
        db_->prepare("INSERT INTO params (run_id, key, value, value_num) VALUES (?,?,?,?)");
    for (const auto& [k, v] : run.params) {
      auto num = as_number(v);
      param.bind_all({id, k, v, num ? SqlValue{*num} : SqlValue{}});
      param.run();
    }
    auto tag = db_->prepare("INSERT INTO tags (run_id, key, value) VALUES (?,?,?)");
    for (const auto& [k, v] : run.tags) {
      tag.bind_all({id, k, v});
      tag.run();
    }
    fs::create_directories(dir);
    // Names the store that owns the folder, so that `gc` never deletes another store's runs
    // sharing the same runs/ folder.
    std::ofstream(dir + "/.fabric-exp-store") << db_->identity() << "\n";
  });
  return id;
}

void RunStore::finish_run(const std::string& id, Status status, int exit_code,
                          const std::string& error) {
  db_->transaction([&] {
    const double now = db_->now();
    auto record = [&] {
      auto st = db_->prepare(
          "UPDATE runs SET status = ?, exit_code = ?, error = ?, ended_at = ?, "
          "heartbeat_at = ? WHERE id = ? AND status = 'running' RETURNING id");
      st.bind_all({status_name(status), int64_t(exit_code),
                   error.empty() ? SqlValue{} : SqlValue{error}, now, now, id});
      return st.step();
    };
    if (!record() && !(revive_if_reaped(id) && record()))
      throw_ended(id, std::string("not recorded as ") + status_name(status));
  });
}

void RunStore::throw_ended(const std::string& id, const std::string& consequence) {
  auto st = db_->prepare("SELECT status, coalesce(error, '') FROM runs WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw StateConflict("run " + id + " is no longer in the store: " + consequence);
  throw StateConflict("run " + id + " has already ended (" + st.text(0) +
                      (st.text(1).empty() ? "" : ": " + st.text(1)) + "); " + consequence);
}

void RunStore::reopen_run(const std::string& id) {
  db_->transaction([&] {
    const double now = db_->now();
    db_->prepare(
           "UPDATE runs SET status = 'running', exit_code = NULL, error = NULL, "
           "ended_at = NULL, heartbeat_at = ?, pid = ? WHERE id = ?")
        .bind_all({now, int64_t(getpid()), id})
        .run();
  });
}

void RunStore::heartbeat(const std::string& id) {
  auto st = db_->prepare(
      "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running' RETURNING id");
  st.bind_all({db_->now(), id});
  if (!st.step()) revive_if_reaped(id);
}

void RunStore::set_world_size(const std::string& id, int64_t world_size) {
  db_->prepare("UPDATE runs SET world_size = ? WHERE id = ?").bind_all({world_size, id}).run();
}

void RunStore::set_tag(const std::string& id, const std::string& key, const std::string& value) {
  db_->prepare(
         "INSERT INTO tags (run_id, key, value) VALUES (?,?,?) "
         "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value")
      .bind_all({id, key, value})
      .run();
}

std::string resolve_id(Database& db, const std::string& table, const std::string& noun,
                       const std::string& ref) {
  // `table` is "runs" or "sweeps", from our code; `ref` only ever travels as a bound value.
  if (ref == "last") {
    auto st =
        db.prepare("SELECT id FROM " + table + " ORDER BY created_at DESC, rowid DESC LIMIT 1");
    if (!st.step()) throw UnknownReference("no " + table + " in '" + db.path() + "' yet");
    return st.text(0);
  }
  auto st = db.prepare("SELECT id FROM " + table +
                       " WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 6");
  st.bind(1, ref);
  std::vector<std::string> found;
  while (st.step()) found.push_back(st.text(0));
  for (const auto& f : found)
    if (f == ref) return f;
  if (found.empty()) throw UnknownReference("no " + noun + " '" + ref + "' in '" + db.path() + "'");
  if (found.size() > 1) {
    std::string list;
    for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
    throw UnknownReference(noun + " prefix '" + ref + "' is ambiguous: " + list);
  }
  return found[0];
}

std::string RunStore::resolve(const std::string& ref) {
  return resolve_id(*db_, "runs", "run", ref);
}

std::optional<RunRecord> RunStore::get(const std::string& id) {
  auto st = db_->prepare(
      "SELECT id, name, experiment, status, run_dir, coalesce(error,''), coalesce(recipe_path,''), "
      "coalesce(recipe_text,''), coalesce(resolved,''), coalesce(resolved_hash,''), "
      "coalesce(overrides,'[]'), coalesce(env,'{}'), coalesce(git_commit,''), coalesce(host,''), "
      "coalesce(parent,''), exit_code, git_dirty, created_at, coalesce(started_at,0), "
      "coalesce(ended_at,0), coalesce(heartbeat_at,0), coalesce(seed,0), coalesce(pid,0), "
      "coalesce(world_size,1), coalesce(note,'') FROM runs WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  RunRecord r;
  std::string status;
  std::string* texts[] = {&r.id,         &r.name,          &r.experiment,     &status,
                          &r.run_dir,    &r.error,         &r.recipe_path,    &r.recipe_text,
                          &r.resolved,   &r.resolved_hash, &r.overrides_json, &r.env_json,
                          &r.git_commit, &r.host,          &r.parent};
  for (int i = 0; i < 15; ++i) *texts[i] = st.text(i);
  r.status = parse_status(status);
  if (!st.is_null(15)) r.exit_code = st.integer(15);
  if (!st.is_null(16)) r.git_dirty = st.integer(16);
  r.created_at = st.real(17);
  r.started_at = st.real(18);
  r.ended_at = st.real(19);
  r.heartbeat_at = st.real(20);
  r.seed = st.integer(21);
  r.pid = st.integer(22);
  r.world_size = st.integer(23);
  r.note = st.text(24);
  return r;
}

std::vector<std::pair<std::string, std::string>> RunStore::params(const std::string& id) {
  auto st = db_->prepare("SELECT key, value FROM params WHERE run_id = ? ORDER BY key");
  st.bind(1, id);
  std::vector<std::pair<std::string, std::string>> out;
  while (st.step()) out.emplace_back(st.text(0), st.text(1));
  return out;
}

std::map<std::string, std::string> RunStore::tags(const std::string& id) {
  auto st = db_->prepare("SELECT key, value FROM tags WHERE run_id = ? ORDER BY key");
  st.bind(1, id);
  std::map<std::string, std::string> out;
  while (st.step()) out[st.text(0)] = st.text(1);
  return out;
}

void RunStore::delete_run(const std::string& id) {
  db_->transaction([&] { db_->prepare("DELETE FROM runs WHERE id = ?").bind(1, id).run(); });
}

}  // namespace fabric::store
