#include "store/run_query.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

#include "store/query.hpp"

namespace fabric::store {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

QueryResult select_runs(RunStore& store, const RunQuery& q) {
  // Compiled first: an error in them points at its column in the option that has it.
  std::optional<SqlFragment> filter, order;
  if (!q.where.empty()) filter = compile_filter(q.where);
  if (!q.order_by.empty()) order = compile_order(q.order_by);
  std::vector<std::string> names{"id", "name", "status"};
  auto add = [&](const std::string& c) {
    if (std::find(names.begin(), names.end(), c) == names.end()) names.push_back(c);
  };
  if (!q.columns.empty()) {
    for (const auto& c : q.columns) add(c);
  } else {
    add("created_at");
    add("duration");
    add("tags");
    add("metric");
    if (!q.where.empty())
      for (const auto& c : referenced_columns(q.where, "--where")) add(c);
    if (!q.order_by.empty())
      for (const auto& c : referenced_columns(q.order_by, "--order-by")) add(c);
  }
  SqlFragment select{"SELECT ", {}};
  for (size_t i = 0; i < names.size(); ++i) {
    auto col = compile_column(names[i], true);
    if (names[i] == "created_at" || names[i] == "start_time" || names[i] == "end_time") {
      col.sql = "datetime(" + col.sql + ", 'unixepoch', 'localtime')";
    } else if (names[i] == "duration") {
      col.sql = "round(" + col.sql + ", 1)";
    }
    select.sql += (i ? ", " : "") + col.sql;
    select.values.insert(select.values.end(), col.values.begin(), col.values.end());
  }
  select.sql += " FROM runs";
  if (filter) {
    select.sql += " WHERE " + filter->sql;
    select.values.insert(select.values.end(), filter->values.begin(), filter->values.end());
  }
  select.sql += " ORDER BY ";
  if (order) {
    select.sql += order->sql + ", ";
    select.values.insert(select.values.end(), order->values.begin(), order->values.end());
  }
  select.sql += "runs.created_at DESC, runs.rowid DESC LIMIT ? OFFSET ?";
  select.values.push_back(q.limit);
  select.values.push_back(std::max<int64_t>(q.offset, 0));
  auto st = store.db().prepare(select.sql);
  st.bind_all(select.values);
  QueryResult result{names, {}};
  if (q.count_total) {
    auto count = store.db().prepare("SELECT count(*) FROM runs" +
                                    (filter ? " WHERE " + filter->sql : std::string()));
    if (filter) count.bind_all(filter->values);
    if (count.step()) result.total = count.integer(0);
  }
  while (st.step()) {
    result.rows.emplace_back();
    for (int i = 0; i < st.columns(); ++i) result.rows.back().push_back(st.value(i));
  }
  return result;
}

}  // namespace fabric::store
