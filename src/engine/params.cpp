#include "engine/params.hpp"

#include <stdexcept>

namespace fabric::engine {

Params::Params(const toml::table& table, std::string where)
    : table_(table), where_(std::move(where)) {}

const toml::node& Params::node(const std::string& key) const {
  const toml::node* n = table_.get(key);
  if (!n) throw std::logic_error("internal: [" + where_ + "] has no resolved '" + key + "'");
  return *n;
}

std::string Params::kind() const {
  return has("kind") ? text("kind") : "";
}

int64_t Params::integer(const std::string& key) const {
  if (auto v = node(key).value<int64_t>()) return *v;
  throw std::logic_error("internal: [" + where_ + "] " + key + " is not an integer");
}

std::optional<int64_t> Params::optional_integer(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return integer(key);
}

double Params::number(const std::string& key) const {
  if (auto v = node(key).value<double>()) return *v;  // toml++ widens integers
  throw std::logic_error("internal: [" + where_ + "] " + key + " is not a number");
}

bool Params::flag(const std::string& key) const {
  if (auto v = node(key).value<bool>()) return *v;
  throw std::logic_error("internal: [" + where_ + "] " + key + " is not a boolean");
}

std::string Params::text(const std::string& key) const {
  if (auto v = node(key).value<std::string>()) return *v;
  if (auto i = node(key).value<int64_t>()) return std::to_string(*i);
  throw std::logic_error("internal: [" + where_ + "] " + key + " is not a string");
}

std::vector<int64_t> Params::integers(const std::string& key) const {
  std::vector<int64_t> out;
  if (const auto* arr = node(key).as_array()) {
    for (const auto& e : *arr) out.push_back(e.value<int64_t>().value_or(0));
  }
  return out;
}

std::vector<double> Params::numbers(const std::string& key) const {
  std::vector<double> out;
  if (const auto* arr = node(key).as_array()) {
    for (const auto& e : *arr) out.push_back(e.value<double>().value_or(0.0));
  }
  return out;
}

}  // namespace fabric::engine
