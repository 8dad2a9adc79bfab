// What the filter language knows of the store's columns (query.cpp's own helpers): run
// attributes, params.*, tags.*, metrics.<key>.<summary>, and the SQL each compiles to.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "store/query.hpp"

namespace fabric::store::query_detail {

std::string lower(std::string s);
/// Run attribute -> its SQL expression.
const std::map<std::string, std::string>& run_columns();
/// The run attributes that are numbers; the others (and tags.*) are text.
bool numeric_run_column(const std::string& name);
/// `metrics.val/accuracy.maxx`: a last segment that is almost a summary's name is a typo, not
/// part of the metric's key (which would silently match nothing); the message saying so.
std::optional<std::string> summary_typo(const std::string& name);
/// The SQL of a column name; nullopt for a name that is no column.
std::optional<SqlFragment> column_sql(const std::string& name, bool numeric_params,
                                      Dialect dialect);

}  // namespace fabric::store::query_detail
