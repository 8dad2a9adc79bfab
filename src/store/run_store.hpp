// The run store: every run's metadata, parameters, tags, metrics and artifacts, in a SQLite file
// (the default) or a PostgreSQL database (schema in schema.cpp, dumped to schemas/store.sql).
// Safe for many processes at once: short transactions, retried where they lose a race, and
// heartbeats on the store's clock.
#pragma once

#include "common/json.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"
#include "store/status.hpp"

namespace fabric::store {

/// How often a running run's heartbeat is written (MetricWriter's thread, from the moment the
/// run is created).
inline constexpr double kHeartbeatSeconds = 10;
/// How long a PostgreSQL store waits for its server to come back before a statement fails.
inline constexpr double kReconnectSeconds = 120;
/// A run on another host is taken for dead once its last beat is this old: longer than a writer
/// may wait for its server to come back, plus two beats. A run on this host is judged by its
/// process alone (reap_stale).
inline constexpr double kStaleSeconds = kReconnectSeconds + 2 * kHeartbeatSeconds;

/// FABRIC_EXP_STORE, else runs/fabric-exp.db.
std::string default_store_path();
/// Seconds since the epoch (wall clock, with fractions).
double now_seconds();
/// A fresh id of 8 characters without look-alikes (runs and sweeps); uniqueness is the caller's.
std::string new_short_id();
std::string hostname();
/// Whether process `pid` of this host has exited: it does not exist, or it is a zombie nobody
/// has reaped yet (an orphan under an init that does not reap).
bool process_gone(int64_t pid);
/// When process `pid` of this host started, in seconds since the epoch (nullopt if unknown).
std::optional<double> process_started_at(int64_t pid);

struct NewRun {
  std::string name, experiment;
  std::string recipe_path, recipe_text, resolved;
  std::vector<std::string> overrides{};
  std::vector<std::pair<std::string, std::string>> params{};  // flattened resolved recipe
  std::map<std::string, std::string> tags, env;
  int64_t seed = 0;
  int64_t world_size = 1;
  std::string git_commit{};
  std::optional<bool> git_dirty{};
  std::string runs_root{};  // the run's folder is <runs_root>/<name>-<id>
  std::string parent{};     // the run this one reruns, or its sweep
  std::string note{};
};

struct RunRecord {
  std::string id, name, experiment, run_dir, error;
  Status status = Status::Running;
  std::string recipe_path, recipe_text, resolved, resolved_hash, overrides_json, env_json;
  std::string git_commit, host, parent, note;
  std::optional<int64_t> exit_code, git_dirty;
  double created_at = 0, started_at = 0, ended_at = 0, heartbeat_at = 0;
  int64_t seed = 0, pid = 0, world_size = 1;
};

/// A measurement of the machine rather than of training (sys/: CPU, memory, GPU; throughput/):
/// two runs of the same seed differ in it, so reproducibility checks leave it out.
inline bool is_wall_clock_metric(std::string_view key) {
  return key.substr(0, 4) == "sys/" || key.substr(0, 11) == "throughput/";
}

struct MetricPoint {
  std::string key{};
  int64_t step = 0;
  int64_t epoch = 0;
  double value = 0;
  double wall_time = 0;
};

struct MetricSummary {
  std::string key{};
  double last = 0, min = 0, max = 0;
  int64_t last_step = 0, min_step = 0, max_step = 0, count = 0;
};

struct Artifact {
  std::string path, kind, sha256;
  int64_t size = 0;
  double created_at = 0;
};

class RunStore {
 public:
  /// Opens `location` (a SQLite file's path, created with its folder, or a postgresql:// URL)
  /// and migrates it to the current schema version.
  explicit RunStore(const std::string& location);
  /// Opens an existing store that this process cannot write (an archive on a read-only mount):
  /// queries work; it must already be at the current schema version.
  static std::unique_ptr<RunStore> open_read_only(const std::string& path);
  /// Opened by open_read_only on a file: nothing may be written, not even a reaped run.
  bool read_only() const { return read_only_; }

  /// The store as messages show it (a URL without its password).
  const std::string& path() const { return db_->path(); }
  /// The location it was opened with, password included: for the processes it starts.
  const std::string& location() const { return location_; }
  Database& db() { return *db_; }
  int schema_version();

  /// Inserts a run with status "running" and creates its folder; returns its id.
  std::string create_run(const NewRun& run);
  /// running -> finished / failed / killed / pruned. Throws StateConflict when the run has
  /// already ended (another process marked it failed, say): nothing is written.
  void finish_run(const std::string& id, Status status, int exit_code,
                  const std::string& error = "");
  /// A resumed run is running again.
  void reopen_run(const std::string& id);
  void heartbeat(const std::string& id);
  /// The number of processes, known once Fabric has launched.
  void set_world_size(const std::string& id, int64_t world_size);
  void set_tag(const std::string& id, const std::string& key, const std::string& value);
  /// Upserts points (a resumed run overwrites its replayed steps) and refreshes the summaries
  /// of the keys touched, in one transaction, beating the heartbeat. Throws StateConflict when
  /// the run has ended.
  void log_metrics(const std::string& id, const std::vector<MetricPoint>& points);
  /// Registers a file that already exists under its final name (after the atomic rename).
  void add_artifact(const std::string& id, const std::string& path, const std::string& kind);
  void remove_artifact(const std::string& id, const std::string& path);

  /// A full id, a unique prefix, or "last" (the newest run). Throws UnknownReference otherwise.
  std::string resolve(const std::string& ref);
  std::optional<RunRecord> get(const std::string& id);
  std::vector<std::pair<std::string, std::string>> params(const std::string& id);
  std::map<std::string, std::string> tags(const std::string& id);
  std::vector<MetricSummary> summaries(const std::string& id);
  /// The points of `keys` (all keys when empty), by key then step.
  std::vector<MetricPoint> metrics(const std::string& id, const std::vector<std::string>& keys);
  /// One metric's points in step order, a row at a time: a curve of millions of points is never
  /// held whole. A NaN comes as NaN.
  void for_each_point(const std::string& id, const std::string& key,
                      const std::function<void(int64_t step, double value)>& visit);
  /// How many of one metric's points are finite (neither NaN nor infinite).
  int64_t finite_point_count(const std::string& id, const std::string& key);
  std::vector<Artifact> artifacts(const std::string& id);
  /// Runs still "running" that are dead become "failed": on this host, those whose process is
  /// gone (or whose pid now names a process started after the run's last beat), however
  /// recent the beat; a live process's run never is. On another host, those whose heartbeat
  /// is older than `timeout` seconds on the store's clock.
  int reap_stale(double timeout = kStaleSeconds);
  /// Deletes the run's rows (its folder is the caller's business).
  void delete_run(const std::string& id);

 private:
  RunStore() = default;
  [[noreturn]] void throw_ended(const std::string& id, const std::string& consequence);
  /// A run that another process took for dead (failed, with no exit code) while this one, its
  /// own, was alive (a network cut longer than kStaleSeconds) runs again; says so on stderr.
  bool revive_if_reaped(const std::string& id);
  std::string location_;
  std::unique_ptr<Database> db_;
  bool read_only_ = false;
};

/// A full id, a unique prefix, or "last" (the newest) of the rows of `table` ("runs" or
/// "sweeps"); `noun` names one in errors. Throws UnknownReference otherwise.
std::string resolve_id(Database& db, const std::string& table, const std::string& noun,
                       const std::string& ref);

/// sha256 of a file, hex.
std::string sha256_file(const std::string& path);
/// A folder artifact (a sharded checkpoint): the sha256 of its manifest, one
/// "<relative path> <sha256 of the file>\n" line per regular file in name order.
std::string sha256_folder(const std::string& path);
/// sha256_file for a file, sha256_folder for a folder.
std::string sha256_path(const std::string& path);
/// sha256 of bytes already in memory, hex.
std::string sha256_hex(std::string_view bytes);
/// Whether `path`, taken as written, names `folder` or something below it: absolute, with no
/// `..` that climbs out (symbolic links are not followed: artifact_file does that).
bool inside_folder(const std::string& folder, const std::string& path);
/// The artifact at `path` as the web server may send it: a regular file whose real path, every
/// symbolic link followed, is inside the real path of `run_dir`; nullopt for anything else.
std::optional<std::string> artifact_file(const std::string& run_dir, const std::string& path);

}  // namespace fabric::store
