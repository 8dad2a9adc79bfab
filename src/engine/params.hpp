// Typed reads of one resolved component table. The recipe layer has already validated the table
// and filled every declared default (exp::with_defaults), so a missing key here is a bug in the
// engine, not in the recipe: it throws std::logic_error naming the component and key.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fabric::engine {

class Params {
 public:
  /// `where` names the table in messages ("optimizer", "metrics[1]").
  Params(const toml::table& table, std::string where);

  std::string kind() const;
  int64_t integer(const std::string& key) const;
  std::optional<int64_t> optional_integer(const std::string& key) const;
  double number(const std::string& key) const;  // integers widen
  bool flag(const std::string& key) const;
  std::string text(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;
  std::vector<double> numbers(const std::string& key) const;
  const toml::node& node(const std::string& key) const;
  bool has(const std::string& key) const { return table_.contains(key); }
  const toml::table& table() const { return table_; }
  const std::string& where() const { return where_; }

 private:
  const toml::table& table_;
  std::string where_;
};

}  // namespace fabric::engine
