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
  const Dialect dialect = store.db().dialect();
  std::optional<SqlFragment> filter, order;
  if (!q.where.empty()) filter = compile_filter(q.where, dialect);
  if (!q.order_by.empty()) order = compile_order(q.order_by, dialect);
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
  // A parameter shows as a number where it is one, else as its text. SQLite's coalesce gives
  // either; PostgreSQL's types do not mix, so it selects both and the first non-NULL is kept.
  SqlFragment select{"SELECT ", {}};
  std::vector<bool> paired;  // per name: two SQL columns
  for (size_t i = 0; i < names.size(); ++i) {
    auto col = compile_column(names[i], true, "--columns", dialect);
    const bool pair = dialect == Dialect::PostgreSQL && names[i].rfind("params.", 0) == 0;
    if (pair) {
      const auto text = compile_column(names[i], false, "--columns", dialect);
      col.sql += ", " + text.sql;
      col.values.insert(col.values.end(), text.values.begin(), text.values.end());
    }
    paired.push_back(pair);
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
    int column = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      SqlValue v = st.value(column++);
      if (paired[i]) {
        if (std::holds_alternative<std::monostate>(v)) v = st.value(column);
        ++column;
      }
      result.rows.back().push_back(v);
    }
  }
  return result;
}

}  // namespace fabric::store
