#include "store/run_store.hpp"

#include "fabric/base/utf8.hpp"
#include "fabric/utilities/printable.hpp"
#include "store/folder_name.hpp"

#include <openssl/evp.h>
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

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // A byte that is not part of well-formed UTF-8 becomes U+FFFD: JSON is UTF-8.
      const size_t n = utf8_sequence_length(s, i);
      out += n ? s.substr(i, n) : std::string("\\ufffd");
      i += n ? n : 1;
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

namespace {
std::string to_hex(const unsigned char* bytes, size_t n) {
  std::string hex;
  char byte[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", bytes[i]);
    hex += byte;
  }
  return hex;
}
}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(digest, len);
}

std::string sha256_folder(const std::string& path) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), path).string());
  }
  std::sort(files.begin(), files.end());
  std::string manifest;
  for (const auto& f : files)
    manifest += f + " " + sha256_file((fs::path(path) / f).string()) + "\n";
  return sha256_hex(manifest);
}

std::string sha256_path(const std::string& path) {
  return fs::is_directory(path) ? sha256_folder(path) : sha256_file(path);
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError("cannot read '" + path + "' to hash it");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return to_hex(digest, len);
}

/// 8 characters of a lowercase alphabet without look-alikes (no 0/o, 1/l): short to type,
/// 2^40 ids, so collisions are checked but practically never happen.
std::string new_short_id() {
  static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";
  std::random_device rd;
  std::mt19937_64 gen((uint64_t(rd()) << 32) ^ rd() ^ uint64_t(getpid()));
  std::string id;
  for (int i = 0; i < 8; ++i) id += alphabet[gen() % 32];
  return id;
}

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::optional<double> process_started_at(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Field 22, start time in clock ticks since boot, counted after "(command) ".
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  if (!fields) return std::nullopt;
  std::ifstream uptime_file("/proc/stat");
  double boot = 0;
  for (std::string key; uptime_file >> key;) {
    if (key == "btime") {
      uptime_file >> boot;
      break;
    }
  }
  if (boot <= 0) return std::nullopt;
  return boot + std::stod(field) / double(sysconf(_SC_CLK_TCK));
}

bool process_gone(int64_t pid) {
  if (pid <= 0) return false;
  if (kill(pid_t(pid), 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');  // the state follows "(command) "
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
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
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(digest, 8);  // 16 hex digits tell recipes apart
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

namespace {
/// A key's summary over all its rows, for a key new to the run or a step logged again.
constexpr const char* kRecomputeSummary = R"sql(
INSERT INTO metric_summary (run_id, key, last, last_step, min, min_step, max, max_step, count)
SELECT ?1, ?2,
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 ORDER BY step DESC LIMIT 1),
  (SELECT max(step) FROM metrics WHERE run_id = ?1 AND key = ?2),
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value ASC, step ASC LIMIT 1),
  (SELECT step FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value ASC, step ASC LIMIT 1),
  (SELECT value FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value DESC, step ASC LIMIT 1),
  (SELECT step FROM metrics WHERE run_id = ?1 AND key = ?2 AND value IS NOT NULL
   ORDER BY value DESC, step ASC LIMIT 1),
  (SELECT count(*) FROM metrics WHERE run_id = ?1 AND key = ?2)
WHERE true
ON CONFLICT (run_id, key) DO UPDATE SET last = excluded.last, last_step = excluded.last_step,
  min = excluded.min, min_step = excluded.min_step, max = excluded.max,
  max_step = excluded.max_step, count = excluded.count)sql";
/// The run's metric_summary rows for the keys of `rows` (sorted by key, then step), once they
/// are in metrics.
void update_summaries(Database& db, const std::string& id,
                      const std::vector<const MetricPoint*>& rows) {
  // A NaN is stored as NULL: it can be the last value (a diverged run shows it), never the
  // least or the greatest. Ties keep the earliest step.
  // Each key's summary is merged with the batch's (rows come sorted by key, then step) when
  // every point is past the summary's last step: no earlier row was overwritten, and the flush
  // costs the same at the millionth point as at the first. A step logged again (a resumed run)
  // or a key without a summary is summed over its rows again.
  auto current = db.prepare(
      "SELECT last_step, min, min_step, max, max_step, count FROM metric_summary "
      "WHERE run_id = ? AND key = ?");
  std::optional<Statement> merge, recompute;
  const auto optional_step = [](double v, int64_t step) -> SqlValue {
    return std::isnan(v) ? SqlValue{} : SqlValue{step};
  };
  for (size_t begin = 0; begin < rows.size();) {
    const std::string& key = rows[begin]->key;
    size_t end = begin;
    double lo = NAN, hi = NAN;
    int64_t lo_step = 0, hi_step = 0;
    for (; end < rows.size() && rows[end]->key == key; ++end) {
      const MetricPoint& p = *rows[end];
      if (std::isnan(p.value)) continue;
      if (std::isnan(lo) || p.value < lo) lo = p.value, lo_step = p.step;
      if (std::isnan(hi) || p.value > hi) hi = p.value, hi_step = p.step;
    }
    const MetricPoint& last = *rows[end - 1];
    current.reset();
    current.bind_all({id, key});
    if (current.step() && !current.is_null(0) && current.integer(0) < rows[begin]->step &&
        !current.is_null(5)) {
      if (!current.is_null(1) && !(current.real(1) > lo))
        lo = current.real(1), lo_step = current.integer(2);
      if (!current.is_null(3) && !(current.real(3) < hi))
        hi = current.real(3), hi_step = current.integer(4);
      const int64_t count = current.integer(5) + int64_t(end - begin);
      if (!merge) {
        merge.emplace(db.prepare(
            "UPDATE metric_summary SET last = ?, last_step = ?, min = ?, min_step = ?, max = ?, "
            "max_step = ?, count = ? WHERE run_id = ? AND key = ?"));
      }
      merge->bind_all({last.value, last.step, lo, optional_step(lo, lo_step), hi,
                       optional_step(hi, hi_step), count, id, key});
      merge->run();
    } else {
      if (!recompute) recompute.emplace(db.prepare(kRecomputeSummary));
      recompute->bind_all({id, key});
      recompute->run();
    }
    begin = end;
  }
}
}  // namespace

void RunStore::log_metrics(const std::string& id, const std::vector<MetricPoint>& points) {
  if (points.empty()) return;
  db_->transaction([&] {
    // First, so that the run's row is locked while its metrics go in: a run another process
    // marked ended takes no more.
    auto beat = db_->prepare(
        "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running' RETURNING id");
    beat.bind_all({db_->now(), id});
    if (!beat.step() && !revive_if_reaped(id))
      throw_ended(id, std::to_string(points.size()) + " metric point(s) not recorded");
    // Many rows per INSERT: one round trip for up to kRowsPerInsert points, which is what a
    // server's latency makes count. A step logged twice in one batch keeps its last value, as
    // one upsert after another would (and one statement may not upsert a row twice).
    std::map<std::pair<std::string, int64_t>, size_t> last;
    for (size_t i = 0; i < points.size(); ++i) last[{points[i].key, points[i].step}] = i;
    std::vector<const MetricPoint*> rows;
    rows.reserve(last.size());
    for (const auto& [key_step, i] : last) rows.push_back(&points[i]);
    constexpr size_t kRowsPerInsert = 200;
    auto insert_sql = [](size_t n) {
      std::string sql = "INSERT INTO metrics (run_id, key, step, epoch, value, wall_time) VALUES ";
      for (size_t i = 0; i < n; ++i) sql += i ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)";
      return sql +
             " ON CONFLICT (run_id, key, step) DO UPDATE SET epoch = excluded.epoch, "
             "value = excluded.value, wall_time = excluded.wall_time";
    };
    std::optional<Statement> full;
    std::vector<SqlValue> values;
    for (size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
      const size_t n = std::min(kRowsPerInsert, rows.size() - start);
      values.clear();
      for (size_t i = start; i < start + n; ++i) {
        const MetricPoint& p = *rows[i];
        values.insert(values.end(), {id, p.key, p.step, p.epoch, p.value, p.wall_time});
      }
      if (n == kRowsPerInsert) {
        if (!full) full.emplace(db_->prepare(insert_sql(n)));
        full->bind_all(values);
        full->run();
      } else {
        db_->prepare(insert_sql(n)).bind_all(values).run();
      }
    }
    update_summaries(*db_, id, rows);
  });
}

bool inside_folder(const std::string& folder, const std::string& path) {
  const fs::path root = fs::path(folder).lexically_normal();
  const fs::path p = fs::path(path).lexically_normal();
  if (folder.empty() || !root.is_absolute() || !p.is_absolute()) return false;
  const auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

namespace {
/// The real path of `path` (every symbolic link followed) when it and that real path are both
/// inside `run_dir` (as written and as its own real path); nullopt otherwise.
std::optional<fs::path> real_path_inside(const std::string& run_dir, const std::string& path) {
  if (!inside_folder(run_dir, path)) return std::nullopt;
  std::error_code ec;
  const fs::path root = fs::canonical(run_dir, ec);
  if (ec) return std::nullopt;
  const fs::path real = fs::canonical(path, ec);
  if (ec || !inside_folder(root.string(), real.string())) return std::nullopt;
  return real;
}
}  // namespace

std::optional<std::string> artifact_file(const std::string& run_dir, const std::string& path) {
  const auto real = real_path_inside(run_dir, path);
  std::error_code ec;
  if (!real || !fs::is_regular_file(fs::symlink_status(*real, ec)) || ec) return std::nullopt;
  return real->string();
}

void RunStore::add_artifact(const std::string& id, const std::string& path,
                            const std::string& kind) {
  // Only what is inside the run's own folder, symbolic links followed: the web UI serves
  // artifacts, and a row must not point it at any other file its user can read.
  const auto run = get(id);
  if (!run) throw StoreError("run " + id + " is not in the store: artifact not recorded");
  if (!real_path_inside(run->run_dir, path)) {
    throw StoreError("artifact '" + path + "' is not inside run " + id + "'s folder " +
                     run->run_dir + ": not recorded");
  }
  int64_t size = 0;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) size += int64_t(e.file_size());
  } else {
    size = int64_t(fs::file_size(path));
  }
  const std::string digest = sha256_path(path);
  db_->transaction([&] {
    db_->prepare(
           "INSERT INTO artifacts (run_id, path, kind, size, sha256, created_at) "
           "VALUES (?,?,?,?,?,?) ON CONFLICT (run_id, path) DO UPDATE SET kind = excluded.kind, "
           "size = excluded.size, sha256 = excluded.sha256, created_at = excluded.created_at")
        .bind_all({id, path, kind, size, digest, db_->now()})
        .run();
  });
}

void RunStore::remove_artifact(const std::string& id, const std::string& path) {
  db_->prepare("DELETE FROM artifacts WHERE run_id = ? AND path = ?").bind_all({id, path}).run();
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

std::vector<MetricSummary> RunStore::summaries(const std::string& id) {
  auto st = db_->prepare(
      "SELECT key, last, last_step, min, min_step, max, max_step, count "
      "FROM metric_summary WHERE run_id = ? ORDER BY key");
  st.bind(1, id);
  std::vector<MetricSummary> out;
  while (st.step()) {
    out.push_back({st.text(0), st.real_or_nan(1), st.real_or_nan(3), st.real_or_nan(5),
                   st.integer(2), st.integer(4), st.integer(6), st.integer(7)});
  }
  return out;
}

std::vector<MetricPoint> RunStore::metrics(const std::string& id,
                                           const std::vector<std::string>& keys) {
  // One key at a time when some are named, so the primary key (run_id, key, step) finds them
  // instead of a scan of every key of the run.
  auto st = db_->prepare(keys.empty()
                             ? "SELECT key, step, coalesce(epoch,0), value, coalesce(wall_time,0) "
                               "FROM metrics WHERE run_id = ? ORDER BY key, step"
                             : "SELECT key, step, coalesce(epoch,0), value, coalesce(wall_time,0) "
                               "FROM metrics WHERE run_id = ? AND key = ? ORDER BY step");
  const std::set<std::string> wanted(keys.begin(), keys.end());
  std::vector<MetricPoint> out;
  auto read = [&] {
    while (st.step())
      out.push_back({st.text(0), st.integer(1), st.integer(2), st.real_or_nan(3), st.real(4)});
  };
  if (keys.empty()) {
    st.bind(1, id);
    read();
  }
  for (const auto& key : wanted) {
    st.reset();
    st.bind_all({id, key});
    read();
  }
  return out;
}

void RunStore::for_each_point(const std::string& id, const std::string& key,
                              const std::function<void(int64_t step, double value)>& visit) {
  auto st =
      db_->prepare("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step");
  st.bind_all({id, key});
  while (st.step()) visit(st.integer(0), st.real_or_nan(1));
}

int64_t RunStore::finite_point_count(const std::string& id, const std::string& key) {
  // NULL (a stored NaN) and the infinities fall outside the range of finite doubles.
  auto st = db_->prepare(
      "SELECT count(*) FROM metrics WHERE run_id = ? AND key = ? AND value BETWEEN ? AND ?");
  st.bind_all({id, key, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max()});
  st.step();
  return st.integer(0);
}

std::vector<Artifact> RunStore::artifacts(const std::string& id) {
  auto st = db_->prepare(
      "SELECT path, coalesce(kind,''), coalesce(sha256,''), coalesce(size,0), "
      "coalesce(created_at,0) FROM artifacts WHERE run_id = ? ORDER BY path");
  st.bind(1, id);
  std::vector<Artifact> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.integer(3), st.real(4)});
  return out;
}

int RunStore::reap_stale(double timeout) {
  if (read_only_) return 0;  // an archive on a read-only mount is shown as it is
  const std::string host = hostname();
  std::vector<std::pair<std::string, std::string>> dead;  // id, why
  {
    auto st = db_->prepare("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'");
    const double cutoff = db_->now() - timeout;
    while (st.step()) {
      const int64_t pid = st.integer(2);
      const double beat = st.real(3);
      std::time_t t = std::time_t(beat);
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
      if (st.text(1) == host && pid > 0) {
        // This host's own runs: the process tells, whatever the heartbeat (a writer waiting
        // for its server to come back beats nothing meanwhile). A pid taken by a process that
        // started after the run's last beat is another process; a minute of slack for the
        // store's clock, which may be another machine's.
        const auto started = process_started_at(pid);
        if (process_gone(pid) || (started && *started > beat + 60)) {
          dead.emplace_back(st.text(0), "process " + std::to_string(pid) +
                                            " is gone; no heartbeat since " + when);
        }
      } else if (beat < cutoff) {
        dead.emplace_back(st.text(0), std::string("no heartbeat since ") + when);
      }
    }
  }
  if (dead.empty()) return 0;
  db_->transaction([&] {
    auto st = db_->prepare(
        "UPDATE runs SET status = 'failed', ended_at = heartbeat_at, error = ? "
        "WHERE id = ? AND status = 'running'");
    for (const auto& [id, why] : dead) {
      st.bind_all({why, id});
      st.run();
    }
  });
  return int(dead.size());
}

bool RunStore::revive_if_reaped(const std::string& id) {
  // Reaped rows are the only failed ones without an exit code; host and pid say it is ours.
  auto st = db_->prepare(
      "UPDATE runs SET status = 'running', ended_at = NULL, heartbeat_at = ?, error = NULL "
      "WHERE id = ? AND status = 'failed' AND exit_code IS NULL AND host = ? AND pid = ? "
      "RETURNING id");
  st.bind_all({db_->now(), id, hostname(), int64_t(getpid())});
  if (!st.step()) return false;
  std::cerr << "fabric-exp: warning: run " << id
            << " had been marked failed by another process while this one was alive (no "
               "heartbeat for over "
            << int(kStaleSeconds) << " s: the store was out of reach); it runs again\n";
  return true;
}

void RunStore::delete_run(const std::string& id) {
  db_->transaction([&] { db_->prepare("DELETE FROM runs WHERE id = ?").bind(1, id).run(); });
}

}  // namespace fabric::store
