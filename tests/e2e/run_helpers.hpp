// Running the real fabric-exp binary against a store in a temporary folder.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/database.hpp"
#include "support/helpers.hpp"

namespace e2e {

std::string binary();  // build/src/fabric-exp
/// The fabric-exp the README's commands run: the installed one (this build's prefix, where
/// tools/bootstrap and tools/run_tests install it) when it is there, else binary(). An
/// installed binary older than the build's fails the test: it would test other code.
std::string readme_binary();
/// The store the helpers give `dir`'s commands: `dir`/store.db unless use_store_backend chose
/// a PostgreSQL database for it.
std::string store_location(const test_support::TempDir& dir);
/// Gives `dir` a fresh store of `backend` ("sqlite" or "postgresql").
void use_store_backend(const test_support::TempDir& dir, const std::string& backend);
std::string recipe(const std::string& name);  // recipes/<name>
/// `fabric-exp <args>` with the store and the runs folder inside `dir`.
test_support::CommandResult fabric_exp(const test_support::TempDir& dir, const std::string& args,
                                       const std::string& shell_prefix = "");
/// The rows of a query on the store in `dir`, each column as text ("" for NULL).
std::vector<std::vector<std::string>> query(const test_support::TempDir& dir,
                                            const std::string& sql);
/// Runs SQL that writes (a test's tampering) on the store in `dir`.
void exec_sql(const test_support::TempDir& dir, const std::string& sql);
/// Polls `done` every 50 ms until it is true (an exception counts as not yet: the store may be
/// still in the making) or `seconds` pass; whether it became true.
bool wait_until(const std::function<bool()>& done, double seconds);
/// wait_until a query on the store in `dir` returns a non-empty, non-zero value.
bool wait_for(const test_support::TempDir& dir, const std::string& sql, double seconds);
/// One value.
std::string query_one(const test_support::TempDir& dir, const std::string& sql);
/// Shell-quotes.
std::string q(const std::string& s);

/// The metrics rows a seeded run reproduces bit for bit, as a table expression: all but the
/// wall-clock measurements (sys/ and throughput/), whose values and steps vary from run to run.
inline const std::string reproducible_metrics =
    "(SELECT * FROM metrics WHERE key NOT LIKE 'sys/%' AND key NOT LIKE 'throughput/%')";
/// Starts `fabric-exp <args>` in the background (its output in `dir`/out.txt), waits until a
/// line of that output matches the extended regex `pattern` (30 s at most), `delay` seconds more,
/// then sends `sig`; returns the exit status the shell saw (-1 when it could not tell).
int signal_when(const test_support::TempDir& dir, const std::string& args,
                const std::string& pattern, double delay, int sig);
inline bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace e2e
