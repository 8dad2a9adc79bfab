// A real PostgreSQL server for the tests that run against both store backends: Debian's
// initdb and pg_ctl into a temporary folder, listening on a Unix socket there only (no TCP
// port), started on first use and stopped when the test executable exits. As root (CI) the
// server runs as the `postgres` user, since PostgreSQL refuses to run as root.
#pragma once

#include <string>
#include <vector>

#include "support/helpers.hpp"

namespace test_support {

/// "" when a server can run here, else why not (no postgresql package, initdb failed...).
std::string postgres_unavailable();
/// A new, empty database on the test server; its URL (postgresql://postgres@/NAME?host=DIR).
std::string fresh_postgres_database();
/// Stops the test server, and starts it again `down_seconds` later (for reconnect tests);
/// waits until it answers.
void restart_postgres(double down_seconds = 0);
/// Runs SQL on the test server's database `database` with psql; its output.
CommandResult postgres_sql(const std::string& database, const std::string& sql);

/// Both store backends, for GENERATE: every case so written runs once on each.
inline const std::vector<std::string> kStoreBackends{"sqlite", "postgresql"};
/// A fresh store location of `backend`: `dir`/store.db, or a new PostgreSQL database.
std::string fresh_store(const std::string& backend, const TempDir& dir);

}  // namespace test_support

/// Declares `var` as each store backend in turn ("sqlite", then "postgresql"); the PostgreSQL
/// pass is counted as skipped where no server can run.
#define FABRIC_FOR_EACH_STORE_BACKEND(var)                                      \
  const std::string var = GENERATE(from_range(::test_support::kStoreBackends)); \
  if (var == "postgresql" && !::test_support::postgres_unavailable().empty())   \
  FABRIC_SKIP("PostgreSQL: " + ::test_support::postgres_unavailable())
