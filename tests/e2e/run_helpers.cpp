#include "e2e/run_helpers.hpp"

#include <stdexcept>

namespace e2e {

std::string binary() {
  return (test_support::exe_dir().parent_path() / "src/fabric-exp").string();
}

std::string recipe(const std::string& name) {
  return std::string(FABRIC_SOURCE_DIR) + "/recipes/" + name;
}

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

test_support::CommandResult fabric_exp(const test_support::TempDir& dir, const std::string& args) {
  return test_support::run_command("cd " + q(dir.str()) + " && FABRIC_EXP_STORE=" +
                                   q(dir.str("store.db")) + " " + q(binary()) + " " + args);
}

std::vector<std::vector<std::string>> query(const test_support::TempDir& dir,
                                            const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(dir.str("store.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open the store in " + dir.str());
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(msg);
  }
  std::vector<std::vector<std::string>> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const auto* t = sqlite3_column_text(st, i);
      row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    rows.push_back(row);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::string query_one(const test_support::TempDir& dir, const std::string& sql) {
  auto rows = query(dir, sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

}  // namespace e2e
