// The run store on a PostgreSQL server, through libpq: one connection per store object, SQLite's
// "?" binds rewritten to "$N", serialization failures, deadlocks and lost connections retried
// (a transaction from its start; a lone statement after reconnecting), and migrations under an
// advisory lock so that many processes starting on an empty database create the schema once.
#pragma once

#include <chrono>
#include <string>

#include "store/database.hpp"

struct pg_conn;
struct pg_result;

namespace fabric::store {

class PostgresDatabase final : public Database {
 public:
  /// `url`: postgresql://user[:password]@host[:port]/database[?param=value...], as libpq reads
  /// it; a password may also come from PGPASSWORD or ~/.pgpass.
  explicit PostgresDatabase(const std::string& url);
  ~PostgresDatabase() override;

  Dialect dialect() const override { return Dialect::PostgreSQL; }
  const std::string& path() const override { return shown_; }
  std::string identity() const override { return shown_; }
  void set_limits(double statement_seconds, double reconnect_seconds) override;
  void exec(const std::string& sql) override;
  Statement prepare(const std::string& sql) override;
  double now() override;
  int schema_version() override;
  void set_schema_version(int version) override;
  void lock_schema() override;
  std::string translate_ddl(const std::string& sql) const override;

  /// Runs one statement (with binds when `params` is not null, else possibly several without);
  /// the result has rows or none. Used by this backend's statements.
  pg_result* execute(const std::string& sql, const std::vector<SqlValue>* params);

 protected:
  void begin() override;
  void commit() override;
  void rollback() noexcept override;

 private:
  void connect();
  /// After the server went away: reconnects, waiting for it up to kReconnectTimeout.
  void reconnect(const std::string& why);
  /// The SET that gives this connection statement_seconds_ (0: none).
  std::string statement_timeout_sql() const;

  std::string url_, shown_;
  pg_conn* conn_ = nullptr;
  bool in_transaction_ = false;
  double clock_offset_ = 0;       // the server's clock minus ours, measured on connecting
  double statement_seconds_ = 0;  // 0: none (set again on every connection)
  std::chrono::milliseconds reconnect_timeout_;
};

/// "?" and "?N" (SQLite's binds) as "$N"; quoted text and comments are left alone. Sets
/// `count` to the number of parameters.
std::string postgres_placeholders(const std::string& sql, int& count);

}  // namespace fabric::store
