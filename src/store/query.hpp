// The filter language of `fabric-exp runs --where`: MLflow's prefixes (params., metrics., tags.,
// attributes.) plus what its users ask for: or, not, parentheses, in, like, is null, numeric
// comparison of parameters, and metric aggregates (metrics.val/acc.max).
//
//   metrics.val/accuracy.max > 0.9 and (params.optimizer.kind = 'adamw' or params.optimizer.lr >=
//   1e-3)
//     and status in ('finished')
//
// It compiles to SQL over the store's tables with every user value bound as a parameter: no user
// text is ever pasted into SQL (column names are mapped to our own SQL, never copied).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace fabric::store {

/// Bounds on what --where and --order-by accept, checked while parsing, before any SQL is built:
/// the parser's recursion, the SQL it makes and the time a backend spends on it stay small
/// whatever the text (it may come from anyone who can reach the web UI).
inline constexpr size_t kMaxQueryLength = 4096;  // characters
inline constexpr size_t kMaxQueryDepth = 32;     // nested `not`s and parentheses
inline constexpr size_t kMaxQueryTerms = 64;     // conditions in one --where
inline constexpr size_t kMaxOrderTerms = 8;      // terms of one --order-by
inline constexpr size_t kMaxListItems = 256;     // values of one `in (...)`

/// A malformed expression: `column` is 1-based within `text`.
class QueryError : public std::runtime_error {
 public:
  /// `option` names where the text came from in the message ("--where", "--order-by").
  QueryError(const std::string& text, size_t column, const std::string& message,
             const std::string& option = "--where");
  size_t column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  size_t column_;
  std::string message_;
};

/// SQL text with its bound values.
struct SqlFragment {
  std::string sql{};
  std::vector<SqlValue> values{};
  bool numeric = false;  // a number rather than text (PostgreSQL compares only like with like)
};

/// A column reference, as used by --where, --order-by and --columns: "status", "params.x.y",
/// "metrics.val/loss.min", "tags.note". Throws QueryError for an unknown name.
SqlFragment compile_column(const std::string& name, bool numeric_params = true,
                           const std::string& option = "--columns",
                           Dialect dialect = Dialect::SQLite);
/// A --where expression -> a boolean SQL expression over `runs`, in `dialect`. The two dialects
/// give the same answers (ASCII case ignored by like, NULL ordered first).
SqlFragment compile_filter(const std::string& text, Dialect dialect = Dialect::SQLite);
/// A --order-by list ("metrics.val/loss.min, created_at desc") -> SQL ORDER BY terms.
SqlFragment compile_order(const std::string& text, Dialect dialect = Dialect::SQLite);
/// Column names an expression refers to (to show them in the listing).
std::vector<std::string> referenced_columns(const std::string& text,
                                            const std::string& option = "--where");
/// '2026-11-29', '2026-11-29 14:05[:30]' or '2026-11-29T14:05:30' in local time -> seconds since
/// the epoch, as the store keeps times; nullopt for any other text.
std::optional<double> parse_local_time(const std::string& text);

}  // namespace fabric::store
