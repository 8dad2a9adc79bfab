// The run store on a SQLite file: WAL (readers beside the one writer), a busy timeout, foreign
// keys, and BEGIN IMMEDIATE transactions.
#pragma once

#include <sqlite3.h>

#include <string>

#include "store/database.hpp"

namespace fabric::store {

class SqliteDatabase final : public Database {
 public:
  /// Opens (creating) the file with WAL, a busy timeout and foreign keys. `immutable` (with
  /// read_only) reads a file nobody writes, such as an archive on a read-only mount, where a WAL
  /// store's -shm file cannot be made.
  explicit SqliteDatabase(const std::string& path, bool read_only = false, bool immutable = false);
  ~SqliteDatabase() override;

  Dialect dialect() const override { return Dialect::SQLite; }
  const std::string& path() const override { return path_; }
  std::string identity() const override;
  void set_limits(double statement_seconds, double reconnect_seconds) override;
  void exec(const std::string& sql) override;
  Statement prepare(const std::string& sql) override;
  double now() override;
  int schema_version() override;
  void set_schema_version(int version) override;
  void lock_schema() override {}  // BEGIN IMMEDIATE already holds the only write lock
  std::string translate_ddl(const std::string& sql) const override { return sql; }

  /// exec, retried while another connection holds a lock SQLite would not wait for.
  void exec_waiting_for_lock(const std::string& sql);
  sqlite3* handle() const { return db_; }

 protected:
  void begin() override { exec("BEGIN IMMEDIATE"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  double statement_seconds_ = 0;  // 0: none
};

}  // namespace fabric::store
