// Printing query results as an aligned table, CSV (RFC 4180) or JSON (an array of objects).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace fabric::present {

struct ResultTable {
  std::vector<std::string> headers{};
  std::vector<std::vector<store::SqlValue>> rows{};
};

/// "table", "csv" or "json"; throws std::invalid_argument otherwise.
void print_table(std::ostream& out, const ResultTable& table, const std::string& format);
std::string format_value(const store::SqlValue& value);
/// A value as JSON: numbers as the shortest text that reads back the same, null for NULL and
/// non-finite numbers, strings escaped.
std::string json_value(const store::SqlValue& value);

}  // namespace fabric::present
