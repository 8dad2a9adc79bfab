// Diagnostics in the compiler format editors link to: "file:line:col: error: message", the
// source line with a caret, and notes (as DuckDB renders its errors).
#pragma once

#include <string>
#include <vector>

#include "common/edit_distance.hpp"

namespace fabric::exp {

struct SourcePos {
  std::string file{};  // path as given, or "override 'a.b=1'" for a command-line override
  int line = 0;        // 1-based; 0 when unknown
  int column = 0;
};

struct Diagnostic {
  SourcePos pos{};
  std::string message{};
  std::vector<std::string> notes{};
};

/// Renders one diagnostic; the source line is read from pos.file when it is a readable file.
std::string render(const Diagnostic& d);
/// Renders all, sorted by file, line and column.
std::string render_all(std::vector<Diagnostic> diagnostics);

/// Thrown by the recipe layer with every problem found at once (exit status 2).
class RecipeError : public std::exception {
 public:
  explicit RecipeError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  const char* what() const noexcept override { return text_.c_str(); }

 private:
  std::vector<Diagnostic> diagnostics_;
  std::string text_;
};

using fabric::edit_distance;
/// The candidates closest to `word` within a threshold that scales with its length, best first.
std::vector<std::string> suggest(const std::string& word,
                                 const std::vector<std::string>& candidates, size_t max = 3);
/// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace fabric::exp
