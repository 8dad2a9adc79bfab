// The run store's connection to its database, whichever it is: a SQLite file (the embedded
// default) or a PostgreSQL server (a team's or a cluster's). Prepared statements with typed,
// 1-based binds ("?" and "?N", SQLite's forms, on both); SQL text is only ever built from our own
// constants. Where the two dialects differ the store asks dialect().
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace fabric::store {

/// How long a writer waits for another's lock (SQLite) or for the server to come back
/// (PostgreSQL) before giving up.
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

/// A write that a run's or a trial's state no longer allows: it already ended (finished, failed,
/// pruned...), perhaps marked so by another process. The writer says so and moves on.
class StateConflict : public StoreError {
 public:
  using StoreError::StoreError;
};

/// A transaction that lost to another (serialization failure, deadlock) or to the connection:
/// Database::transaction runs it again.
class RetryableError : public StoreError {
 public:
  using StoreError::StoreError;
};

/// The store did not answer within the connection's limits (Database::set_limits): its server
/// could not be reached again in time.
class StoreUnavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

/// A statement that ran past the connection's statement timeout.
class StatementTimeout : public StoreUnavailable {
 public:
  using StoreUnavailable::StoreUnavailable;
};

/// A bound value: NULL, integer, real or text. A NaN is stored as NULL on both backends.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

enum class Dialect { SQLite, PostgreSQL };

/// One backend's prepared statement.
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void bind(int index, const SqlValue& value) = 0;
  virtual bool step() = 0;
  /// Back to before the first step, with every bind cleared.
  virtual void reset() = 0;
  virtual int columns() const = 0;
  virtual std::string column_name(int i) const = 0;
  virtual bool is_null(int i) const = 0;
  virtual int64_t integer(int i) const = 0;
  virtual double real(int i) const = 0;
  virtual std::string text(int i) const = 0;
  virtual SqlValue value(int i) const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> backend) : b_(std::move(backend)) {}

  Statement& bind(int index, const SqlValue& value) {  // 1-based
    b_->bind(index, value);
    return *this;
  }
  Statement& bind_all(const std::vector<SqlValue>& values) {
    for (size_t i = 0; i < values.size(); ++i) b_->bind(int(i) + 1, values[i]);
    return *this;
  }
  /// Advances; false when done.
  bool step() { return b_->step(); }
  /// Runs to completion.
  void run() {
    while (step()) {
    }
    reset();
  }
  void reset() { b_->reset(); }

  int columns() const { return b_->columns(); }
  std::string column_name(int i) const { return b_->column_name(i); }
  bool is_null(int i) const { return b_->is_null(i); }
  int64_t integer(int i) const { return b_->integer(i); }
  double real(int i) const { return b_->real(i); }
  /// A metric value: a stored NaN is NULL, so NULL reads back as NaN, not 0.
  double real_or_nan(int i) const { return is_null(i) ? std::nan("") : real(i); }
  std::string text(int i) const { return b_->text(i); }
  SqlValue value(int i) const { return b_->value(i); }

 private:
  std::unique_ptr<StatementBackend> b_;
};

class Database {
 public:
  virtual ~Database() = default;
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  virtual Dialect dialect() const = 0;
  /// The store as messages show it: a file's path, or a URL without its password.
  virtual const std::string& path() const = 0;
  /// What names this store in a run folder's marker: an absolute path, or the URL shown.
  virtual std::string identity() const = 0;

  /// Bounds for a connection that answers people (the web UI): every statement is cancelled
  /// after `statement_seconds` (StatementTimeout), and a lost server is waited for
  /// `reconnect_seconds` rather than a writer's kReconnectSeconds (StoreUnavailable).
  virtual void set_limits(double statement_seconds, double reconnect_seconds) = 0;

  /// Runs SQL without binds (several statements may be separated by ';').
  virtual void exec(const std::string& sql) = 0;
  virtual Statement prepare(const std::string& sql) = 0;

  /// The store's clock (seconds since the epoch): the server's for PostgreSQL, so that
  /// heartbeats written from many hosts compare with each other.
  virtual double now() = 0;

  /// The schema version recorded in the store (0: none yet).
  virtual int schema_version() = 0;
  /// Inside a transaction: records the version reached.
  virtual void set_schema_version(int version) = 0;
  /// Inside a transaction: holds off every other process migrating this store until it ends.
  virtual void lock_schema() = 0;
  /// One migration's SQL (written in SQLite's dialect) as this database runs it.
  virtual std::string translate_ddl(const std::string& sql) const = 0;

  /// BEGIN ... COMMIT, rolled back on exception; run again (with jittered back-off, until
  /// kBusyTimeout) when it lost a race or the connection. The body must be safe to repeat.
  template <class F>
  void transaction(F&& body) {
    const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
    std::minstd_rand jitter(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
      begin();
      try {
        body();
        commit();
        return;
      } catch (const RetryableError&) {
        rollback();
        if (std::chrono::steady_clock::now() > deadline) throw;
        const int ms = std::min(10 * attempt * attempt, 1000);
        std::this_thread::sleep_for(
            std::chrono::milliseconds(ms / 2 + int(jitter() % (ms / 2 + 1))));
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

 protected:
  virtual void begin() = 0;
  virtual void commit() = 0;
  /// Never throws.
  virtual void rollback() noexcept = 0;
};

/// Whether `location` is a URL (scheme://...) rather than a SQLite file's path.
bool is_store_url(const std::string& location);
/// The location as messages may show it: a URL's password replaced by ***.
std::string masked_location(const std::string& location);

/// The URL without its password (the rest as given): for files other processes read.
std::string without_password(const std::string& location);
/// Whether `location` is a postgresql:// (or postgres://) URL.
bool is_postgres_url(const std::string& location);
/// Throws StoreError, naming the location with its password hidden, unless it is a SQLite
/// file's path or a PostgreSQL URL this build can open. Creates nothing.
void check_store_location(const std::string& location);
/// Opens the store at `location`: "postgresql://..." (or "postgres://") is a PostgreSQL
/// database, a path a SQLite file (created with its folder unless read-only). Any other URL is
/// refused with a StoreError that names it, password hidden.
std::unique_ptr<Database> open_database(const std::string& location, bool read_only = false);

}  // namespace fabric::store
