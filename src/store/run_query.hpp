// The query behind `fabric-exp runs`: which runs (--where), in what order (--order-by), how many
// (--limit), and which columns: the essentials, then those the user names or filters on.
#pragma once

#include <string>
#include <vector>

#include "store/run_store.hpp"

namespace fabric::store {

struct RunQuery {
  std::string where, order_by;
  std::vector<std::string> columns{};  // empty: id, name, status, created_at, duration + referenced
  int64_t limit = 50;
  int64_t offset = 0;        // rows skipped first (paging)
  bool count_total = false;  // also count every run the filter matches
};

struct QueryResult {
  std::vector<std::string> headers{};
  std::vector<std::vector<SqlValue>> rows{};
  int64_t total = -1;  // runs matching the filter, with count_total
};

/// "a, b ,c" as its trimmed, non-empty items: --columns, and the web API's columns and keys.
std::vector<std::string> split_list(const std::string& text);

/// Throws QueryError for a malformed expression or an unknown column.
QueryResult select_runs(RunStore& store, const RunQuery& query);

}  // namespace fabric::store
