#include "present/run_listing.hpp"

#include "common/time_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace fabric::present {

using store::SqlValue;

namespace {

/// A column's value as the listing shows it, the same from either backend: times in local time,
/// durations to a tenth of a second, the headline metric to 4 significant digits.
SqlValue shown_value(const std::string& column, SqlValue v) {
  const auto* number = std::get_if<double>(&v);
  if (number && (column == "created_at" || column == "start_time" || column == "end_time")) {
    return local_time_text(*number);
  }
  if (number && column == "duration") return std::round(*number * 10) / 10;
  const auto* text = std::get_if<std::string>(&v);
  if (text && column == "metric") {  // "val/accuracy 0.91234567" -> "val/accuracy 0.9123"
    const size_t space = text->rfind(' ');
    if (space == std::string::npos || text->substr(space + 1) == "nan") return v;
    char shortened[32];
    std::snprintf(shortened, sizeof shortened, "%.4g",
                  std::strtod(text->c_str() + space + 1, nullptr));
    return text->substr(0, space + 1) + shortened;
  }
  return v;
}

}  // namespace

store::QueryResult list_runs(store::RunStore& store, const store::RunQuery& query) {
  store::QueryResult result = store::select_runs(store, query);
  for (auto& row : result.rows)
    for (size_t i = 0; i < row.size(); ++i) row[i] = shown_value(result.headers[i], row[i]);
  return result;
}

}  // namespace fabric::present
