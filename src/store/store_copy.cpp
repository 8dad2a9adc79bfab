#include "store/store_copy.hpp"

#include <functional>
#include <limits>
#include <set>

#include "store/run_query.hpp"

namespace fabric::store {

namespace {

/// A table's columns as the store reads them; PostgreSQL's rowid is the destination's own.
std::vector<std::string> columns_of(Database& db, const std::string& table) {
  auto st = db.prepare("SELECT * FROM " + table + " WHERE 1 = 0");
  st.step();
  std::vector<std::string> out;
  for (int i = 0; i < st.columns(); ++i)
    if (st.column_name(i) != "rowid") out.push_back(st.column_name(i));
  return out;
}

/// Copies the rows of `table` that `filter` (SQL over its columns, one bind) selects; returns
/// how many. `adjust` may change a row before it is written, or drop it (returns false).
int64_t copy_rows(Database& from, Database& to, const std::string& table, const std::string& filter,
                  const std::string& value,
                  const std::function<bool(const std::vector<std::string>&,
                                           std::vector<SqlValue>&)>& adjust = {}) {
  const auto columns = columns_of(from, table);
  std::string list, marks;
  for (size_t i = 0; i < columns.size(); ++i) {
    list += (i ? ", " : "") + columns[i];
    marks += i ? ", ?" : "?";
  }
  // Names come from the store's own schema, never from the user.
  auto read = from.prepare("SELECT " + list + " FROM " + table + " WHERE " + filter);
  read.bind(1, value);
  auto write = to.prepare("INSERT INTO " + table + " (" + list + ") VALUES (" + marks +
                          ") ON CONFLICT DO NOTHING");
  int64_t n = 0;
  std::vector<SqlValue> row(columns.size());
  while (read.step()) {
    for (size_t i = 0; i < columns.size(); ++i) row[i] = read.value(int(i));
    if (adjust && !adjust(columns, row)) continue;
    write.bind_all(row);
    write.run();
    ++n;
  }
  return n;
}

bool has_row(Database& db, const std::string& table, const std::string& id) {
  auto st = db.prepare("SELECT 1 FROM " + table + " WHERE id = ?");
  st.bind(1, id);
  return st.step();
}

}  // namespace

CopyCounts copy_store(RunStore& source, RunStore& destination, const std::string& where) {
  if (source.db().identity() == destination.db().identity())
    throw StoreError("store copy: the source and the destination are the same store ('" +
                     source.path() + "')");
  Database& from = source.db();
  Database& to = destination.db();
  CopyCounts counts;
  RunQuery query{where, "created_at", {"id"}, std::numeric_limits<int64_t>::max()};
  std::set<std::string> selected;
  for (const auto& row : select_runs(source, query).rows) {
    const std::string id = std::get<std::string>(row[0]);
    selected.insert(id);
    if (has_row(to, "runs", id)) {
      ++counts.runs_present;
      continue;
    }
    int64_t points = 0;
    to.transaction([&] {
      copy_rows(from, to, "runs", "id = ?", id);
      for (const char* child : {"params", "tags", "metric_summary"})
        copy_rows(from, to, child, "run_id = ?", id);
      // An artifact outside its run's folder is not copied: such a row is refused when a run
      // registers it, and a store merged in must not bring one.
      const auto run_dir = source.get(id)->run_dir;
      copy_rows(from, to, "artifacts", "run_id = ?", id,
                [&](const std::vector<std::string>& columns, std::vector<SqlValue>& row) {
                  for (size_t i = 0; i < columns.size(); ++i) {
                    const auto* path = std::get_if<std::string>(&row[i]);
                    if (columns[i] == "path" && (!path || !inside_folder(run_dir, *path))) {
                      ++counts.artifacts_refused;
                      return false;
                    }
                  }
                  return true;
                });
      points = copy_rows(from, to, "metrics", "run_id = ?", id);
    });
    ++counts.runs_copied;
    counts.metric_points += points;
  }

  std::vector<std::string> sweeps;
  {
    auto st = from.prepare("SELECT id FROM sweeps ORDER BY created_at");
    while (st.step()) sweeps.push_back(st.text(0));
  }
  for (const auto& id : sweeps) {
    if (!where.empty()) {
      bool wanted = false;
      auto runs =
          from.prepare("SELECT run_id FROM trials WHERE sweep_id = ? AND run_id IS NOT NULL");
      runs.bind(1, id);
      while (!wanted && runs.step()) wanted = selected.count(runs.text(0)) > 0;
      if (!wanted) continue;
    }
    if (has_row(to, "sweeps", id)) {
      ++counts.sweeps_present;
      continue;
    }
    to.transaction([&] {
      copy_rows(from, to, "sweeps", "id = ?", id);
      copy_rows(from, to, "trials", "sweep_id = ?", id,
                [&](const std::vector<std::string>& columns, std::vector<SqlValue>& row) {
                  for (size_t i = 0; i < columns.size(); ++i) {
                    const auto* run = std::get_if<std::string>(&row[i]);
                    if (columns[i] == "run_id" && run && !has_row(to, "runs", *run))
                      row[i] = std::monostate{};
                  }
                  return true;
                });
      copy_rows(from, to, "sweep_rungs", "sweep_id = ?", id);
    });
    ++counts.sweeps_copied;
  }
  return counts;
}

}  // namespace fabric::store
