#include "present/table_output.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "store/run_store.hpp"

namespace fabric::present {

std::string format_value(const store::SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "";
  if (auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&value)) {
    std::ostringstream out;
    out << std::setprecision(6) << *d;
    return out.str();
  }
  return std::get<std::string>(value);
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string json_value(const store::SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "null";
  if (auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) return "null";
    // The shortest text that reads back as the same double.
    for (int precision : {15, 16, 17}) {
      std::ostringstream out;
      out << std::setprecision(precision) << *d;
      if (precision == 17 || std::stod(out.str()) == *d) return out.str();
    }
  }
  return fabric::json_string(std::get<std::string>(value));
}

void print_table(std::ostream& out, const ResultTable& t, const std::string& format) {
  if (format == "csv") {
    for (size_t i = 0; i < t.headers.size(); ++i) out << (i ? "," : "") << csv_field(t.headers[i]);
    out << "\n";
    for (const auto& row : t.rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        // Full precision in CSV: it is read back by programs.
        std::string v =
            std::holds_alternative<double>(row[i]) ? json_value(row[i]) : format_value(row[i]);
        out << (i ? "," : "") << csv_field(v);
      }
      out << "\n";
    }
  } else if (format == "json") {
    out << "[";
    for (size_t r = 0; r < t.rows.size(); ++r) {
      out << (r ? ",\n " : "\n ") << "{";
      for (size_t i = 0; i < t.headers.size(); ++i) {
        out << (i ? ", " : "") << fabric::json_string(t.headers[i]) << ": "
            << json_value(t.rows[r][i]);
      }
      out << "}";
    }
    out << (t.rows.empty() ? "]\n" : "\n]\n");
  } else if (format == "table") {
    std::vector<size_t> width;
    for (const auto& h : t.headers) width.push_back(h.size());
    std::vector<std::vector<std::string>> cells;
    for (const auto& row : t.rows) {
      cells.emplace_back();
      for (size_t i = 0; i < row.size(); ++i) {
        cells.back().push_back(format_value(row[i]));
        width[i] = std::max(width[i], cells.back().back().size());
      }
    }
    // Padded to the column's width, except the last cell (no trailing blanks).
    auto print_row = [&](const std::vector<std::string>& row) {
      for (size_t i = 0; i < row.size(); ++i) {
        out << (i ? "  " : "");
        if (i + 1 < row.size()) {
          out << std::left << std::setw(int(width[i])) << row[i];
        } else {
          out << row[i];
        }
      }
      out << "\n";
    };
    print_row(t.headers);
    for (const auto& row : cells) print_row(row);
  } else {
    throw std::invalid_argument("--format must be table, csv or json, not '" + format + "'");
  }
}

}  // namespace fabric::present
