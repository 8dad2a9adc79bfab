// Running the real fabric-exp binary against a store in a temporary folder.
#pragma once

#include <string>
#include <vector>

#include "store/sqlite.hpp"
#include "support/helpers.hpp"

namespace e2e {

std::string binary();
std::string recipe(const std::string& name);  // recipes/<name>
/// `fabric-exp <args>` with the store and the runs folder inside `dir`.
test_support::CommandResult fabric_exp(const test_support::TempDir& dir, const std::string& args,
                                       const std::string& shell_prefix = "");
/// The rows of a query on the store in `dir`, each column as text ("" for NULL).
std::vector<std::vector<std::string>> query(const test_support::TempDir& dir,
                                            const std::string& sql);
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
