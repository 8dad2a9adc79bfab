#include "store/sqlite.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <thread>

#include "store/run_store.hpp"

namespace fabric::store {

namespace {
[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw StoreError(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql,
                  std::chrono::steady_clock::duration statement_limit);
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind(int index, const SqlValue& value) override;
  bool step() override;
  void reset() override;
  int columns() const override;
  std::string column_name(int i) const override;
  bool is_null(int i) const override;
  int64_t integer(int i) const override;
  double real(int i) const override;
  std::string text(int i) const override;
  SqlValue value(int i) const override;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::chrono::steady_clock::duration statement_limit_;
};
}  // namespace

SqliteStatement::SqliteStatement(sqlite3* db, const std::string& sql,
                                 std::chrono::steady_clock::duration statement_limit)
    : db_(db), statement_limit_(statement_limit) {
  if (sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
    fail(db, "cannot prepare a statement");  // its SQL stays out of messages
  }
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

void SqliteStatement::bind(int index, const SqlValue& value) {
  int rc = SQLITE_OK;
  if (std::holds_alternative<std::monostate>(value)) {
    rc = sqlite3_bind_null(stmt_, index);
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    rc = sqlite3_bind_int64(stmt_, index, *i);
  } else if (auto* d = std::get_if<double>(&value)) {
    rc = sqlite3_bind_double(stmt_, index, *d);
  } else {
    const auto& s = std::get<std::string>(value);
    rc = sqlite3_bind_text(stmt_, index, s.data(), int(s.size()), SQLITE_TRANSIENT);
  }
  if (rc != SQLITE_OK) fail(db_, "bind");
}

// Each step of a statement on a connection with a statement timeout runs until its deadline:
// SQLite calls the progress handler every few thousand instructions and stops when it says so.
thread_local std::chrono::steady_clock::time_point step_deadline;

int past_deadline(void*) {
  return std::chrono::steady_clock::now() > step_deadline ? 1 : 0;
}

bool SqliteStatement::step() {
  if (statement_limit_.count() > 0)
    step_deadline = std::chrono::steady_clock::now() + statement_limit_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_INTERRUPT) {
    sqlite3_reset(stmt_);
    throw StatementTimeout(
        "the query took longer than " +
        std::to_string(int(std::chrono::duration<double>(statement_limit_).count())) +
        " s and was stopped");
  }
  fail(db_, "SQLite step");
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int SqliteStatement::columns() const {
  return sqlite3_column_count(stmt_);
}
std::string SqliteStatement::column_name(int i) const {
  return sqlite3_column_name(stmt_, i);
}
bool SqliteStatement::is_null(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}
int64_t SqliteStatement::integer(int i) const {
  return sqlite3_column_int64(stmt_, i);
}
double SqliteStatement::real(int i) const {
  return sqlite3_column_double(stmt_, i);
}
std::string SqliteStatement::text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(stmt_, i)))
           : std::string();
}
SqlValue SqliteStatement::value(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_NULL:
      return std::monostate{};
    case SQLITE_INTEGER:
      return integer(i);
    case SQLITE_FLOAT:
      return real(i);
    default:
      return text(i);
  }
}

SqliteDatabase::SqliteDatabase(const std::string& path, bool read_only, bool immutable)
    : path_(path) {
  const int flags = read_only ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
                              : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  std::string uri;
  if (read_only && immutable) {
    uri = "file:";
    for (char c : path) {
      if (c == '?' || c == '#' || c == '%') {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
        uri += hex;
      } else {
        uri += c;
      }
    }
    uri += "?immutable=1";
  }
  if (sqlite3_open_v2(uri.empty() ? path.c_str() : uri.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError("cannot open run store '" + path + "': " + msg);
  }
  // Several runs of a sweep write at once: wait for the lock instead of failing with "database
  // is locked"; WAL lets readers run beside the one writer.
  sqlite3_busy_timeout(db_, int(kBusyTimeout.count()));
  if (!read_only) {
    exec_waiting_for_lock("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
  }
  exec("PRAGMA foreign_keys=ON");
}

void SqliteDatabase::exec_waiting_for_lock(const std::string& sql) {
  // SQLite does not call the busy handler for every lock: switching a new file to WAL while other
  // processes open it returns "database is locked" at once (measured: 5 of 320 processes, 8 at a
  // time on fresh files). Retry as long as the busy timeout would have waited.
  const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
  for (int attempt = 1;; ++attempt) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    const bool locked = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
    if (!locked || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * attempt, 100)));
  }
  exec(sql);  // once more, to throw with SQLite's message
}

SqliteDatabase::~SqliteDatabase() {
  sqlite3_close(db_);
}

void SqliteDatabase::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    // No SQL in the message: it reaches the terminal and the web UI's answers.
    throw StoreError("run store '" + path_ + "': " + msg);
  }
}

Statement SqliteDatabase::prepare(const std::string& sql) {
  // A zero limit: no handler is installed, and no step sets or reads the deadline.
  const auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::max(0.0, statement_seconds_)));
  return Statement(std::make_unique<SqliteStatement>(db_, sql, limit));
}

void SqliteDatabase::set_limits(double statement_seconds, double /*reconnect_seconds*/) {
  statement_seconds_ = statement_seconds;
  sqlite3_progress_handler(db_, statement_seconds > 0 ? 10000 : 0,
                           statement_seconds > 0 ? past_deadline : nullptr, nullptr);
}

std::string SqliteDatabase::identity() const {
  return std::filesystem::absolute(path_).lexically_normal().string();
}

double SqliteDatabase::now() {
  return now_seconds();  // one host: its clock is every writer's
}

int SqliteDatabase::schema_version() {
  auto st = prepare("PRAGMA user_version");
  st.step();
  return int(st.integer(0));
}

void SqliteDatabase::set_schema_version(int version) {
  exec("PRAGMA user_version = " + std::to_string(version));
}

}  // namespace fabric::store
