// Thin RAII over SQLite's C API: a connection and prepared statements with typed binds. Every
// value from outside goes through a bind; SQL text is only ever built from our own constants.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace fabric::store {

/// How long a connection waits for another's lock before "database is locked".
inline constexpr std::chrono::milliseconds kBusyTimeout{30000};

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A run or sweep reference (id, prefix, "last") that names none, or more than one.
class UnknownReference : public StoreError {
 public:
  using StoreError::StoreError;
};

/// A bound value: NULL, integer, real or text.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;

  Statement& bind(int index, const SqlValue& value);  // 1-based
  Statement& bind_all(const std::vector<SqlValue>& values);
  /// Advances; false when done.
  bool step();
  /// Runs to completion.
  void run();
  void reset();

  int columns() const;
  std::string column_name(int i) const;
  bool is_null(int i) const;
  int64_t integer(int i) const;
  double real(int i) const;
  /// A metric value: SQLite stores a bound NaN as NULL, so NULL reads back as NaN, not 0.
  double real_or_nan(int i) const;
  std::string text(int i) const;
  SqlValue value(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  /// Opens (creating) the file with WAL, a busy timeout and foreign keys. `immutable` (with
  /// read_only) reads a file nobody writes, such as an archive on a read-only mount, where a WAL
  /// store's -shm file cannot be made.
  explicit Database(const std::string& path, bool read_only = false, bool immutable = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  /// exec, retried while another connection holds a lock SQLite would not wait for.
  void exec_waiting_for_lock(const std::string& sql);
  Statement prepare(const std::string& sql) { return Statement(db_, sql); }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  /// BEGIN IMMEDIATE ... COMMIT, rolled back on exception.
  template <class F>
  void transaction(F&& body) {
    exec("BEGIN IMMEDIATE");
    try {
      body();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace fabric::store
