#include "exp/diag/diagnostic.hpp"

#include <algorithm>
#include <fstream>
#include <tuple>

#include "common/printable.hpp"

namespace fabric::exp {

namespace {
std::string source_line(const std::string& file, int line) {
  std::ifstream in(file);
  if (!in) return "";
  std::string text;
  for (int i = 0; i < line && std::getline(in, text); ++i) {
  }
  return text;
}
}  // namespace

std::string render(const Diagnostic& d) {
  // Everything shown comes from files and arguments: control characters are escaped.
  std::string out = printable(d.pos.file);
  // An override is one argument, not a file: its name is the whole location.
  const bool is_override = d.pos.file.rfind("override '", 0) == 0;
  if (d.pos.line > 0 && !is_override)
    out += ":" + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column);
  out += ": error: " + printable(d.message) + "\n";
  if (d.pos.line > 0 && !is_override) {
    std::string text = source_line(d.pos.file, d.pos.line);
    if (!text.empty()) {
      std::string num = std::to_string(d.pos.line);
      // The caret counts columns of the escaped line.
      const std::string before = printable(text.substr(0, size_t(std::max(0, d.pos.column - 1))));
      out += " " + std::string(num.size() < 4 ? 4 - num.size() : 0, ' ') + num + " | " +
             printable(text) + "\n";
      out += "      | " + std::string(before.size(), ' ') + "^\n";
    }
  }
  for (const auto& n : d.notes) out += "note: " + printable(n) + "\n";
  return out;
}

std::string render_all(std::vector<Diagnostic> diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.file, a.pos.line, a.pos.column) <
                            std::tie(b.pos.file, b.pos.line, b.pos.column);
                   });
  std::string out;
  for (const auto& d : diagnostics) out += render(d);
  return out;
}

RecipeError::RecipeError(std::vector<Diagnostic> diagnostics)
    : diagnostics_(std::move(diagnostics)) {
  text_ = render_all(diagnostics_);
}

std::vector<std::string> suggest(const std::string& word,
                                 const std::vector<std::string>& candidates, size_t max) {
  const size_t threshold = std::max<size_t>(2, word.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d <= threshold) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(scored[i].second);
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace fabric::exp
