#include "store/query.hpp"
#include "common/edit_distance.hpp"
#include "store/query_columns.hpp"
#include "store/query_tokens.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>

namespace fabric::store {

namespace {

using namespace query_detail;

std::string render(const std::string& text, size_t column, const std::string& message,
                   const std::string& option) {
  // A long text is shown as the 80 characters around the column, with "..." where it is cut.
  constexpr size_t kShown = 80;
  const size_t at = column > 0 ? column - 1 : 0;
  const size_t from = text.size() <= kShown || at < kShown / 2
                          ? 0
                          : std::min(at - kShown / 2, text.size() - kShown);
  const std::string before = from > 0 ? "..." : "";
  const std::string after = from + kShown < text.size() ? "..." : "";
  return option + ": " + message + " (column " + std::to_string(column) + ")\n  " + before +
         text.substr(from, kShown) + after + "\n  " + std::string(before.size() + at - from, ' ') +
         "^";
}

// ---- parser -------------------------------------------------------------------------------------

class Parser {
 public:
  Parser(const std::string& text, std::string option, Dialect dialect)
      : text_(text),
        option_(std::move(option)),
        dialect_(dialect),
        tokens_(tokenize(text, option_)) {}

  SqlFragment filter() {
    auto e = or_expr();
    if (peek().kind != Token::End) fail(peek(), "unexpected '" + peek().text + "'");
    return e;
  }

  SqlFragment order() {
    SqlFragment out;
    for (size_t terms = 1;; ++terms) {
      if (terms > kMaxOrderTerms) {
        fail(peek(), "more than " + std::to_string(kMaxOrderTerms) + " terms to order by");
      }
      const Token& t = next();
      if (t.kind != Token::Ident) fail(t, "expected a column to order by");
      auto col = column(t, true);
      bool descending = false;
      if (peek().kind == Token::Ident && (keyword(peek(), "asc") || keyword(peek(), "desc")))
        descending = keyword(next(), "desc");
      const std::string direction = descending ? " DESC" : " ASC";
      if (dialect_ == Dialect::SQLite) {
        append(out, col.sql + direction, col.values);
      } else if (t.text.rfind("params.", 0) == 0) {
        // As SQLite orders a parameter: missing ones, then numbers, then text.
        const std::string value = column(t, false).sql;
        append(out,
               "CASE WHEN " + value + " IS NULL THEN 0 WHEN " + col.sql +
                   " IS NOT NULL THEN 1 ELSE 2 END" + direction + ", " + col.sql + direction +
                   ", " + value + direction,
               {col.values[0], col.values[0], col.values[0], col.values[0]});
      } else {
        // SQLite's order: NULL is the least value.
        append(out, col.sql + direction + (descending ? " NULLS LAST" : " NULLS FIRST"),
               col.values);
      }
      if (peek().kind == Token::End) break;
      if (next().kind != Token::Comma) fail(tokens_[pos_ - 1], "expected ',' between order terms");
      out.sql += ", ";
    }
    return out;
  }

  std::vector<std::string> columns() {
    std::vector<std::string> out;
    for (const auto& t : tokens_) {
      if (t.kind != Token::Ident) continue;
      const std::string k = lower(t.text);
      if (k == "and" || k == "or" || k == "not" || k == "in" || k == "like" || k == "is" ||
          k == "null" || k == "asc" || k == "desc")
        continue;
      if (std::find(out.begin(), out.end(), t.text) == out.end()) out.push_back(t.text);
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const Token& t, const std::string& msg) {
    throw QueryError(text_, t.column, t.kind == Token::End ? msg + " at the end" : msg, option_);
  }
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  static bool keyword(const Token& t, const char* word) {
    return t.kind == Token::Ident && lower(t.text) == word;
  }
  static void append(SqlFragment& out, const std::string& sql,
                     const std::vector<SqlValue>& values) {
    out.sql += sql;
    out.values.insert(out.values.end(), values.begin(), values.end());
  }

  SqlFragment column(const Token& t, bool numeric) {
    if (auto typo = summary_typo(t.text)) fail(t, *typo);
    auto c = column_sql(t.text, numeric, dialect_);
    if (!c) {
      fail(t, "unknown column '" + t.text +
                  "' (use params.KEY, metrics.KEY[.last|.min|.max|...], tags.KEY, or a run "
                  "attribute such as "
                  "status, name, experiment, created_at, duration)");
    }
    return *c;
  }

  /// `a OR b OR c` as one flat list, so that the SQL nests no deeper than the text does.
  SqlFragment chain(const char* word, const char* sql_word, SqlFragment (Parser::*operand)()) {
    auto first = (this->*operand)();
    if (!keyword(peek(), word)) return first;
    SqlFragment e{"(" + first.sql, first.values};
    while (keyword(peek(), word)) {
      next();
      auto right = (this->*operand)();
      e.sql += std::string(" ") + sql_word + " " + right.sql;
      e.values.insert(e.values.end(), right.values.begin(), right.values.end());
    }
    e.sql += ")";
    return e;
  }
  SqlFragment or_expr() { return chain("or", "OR", &Parser::and_expr); }
  SqlFragment and_expr() { return chain("and", "AND", &Parser::not_expr); }
  SqlFragment not_expr() {
    // Each `not` and `(` is one level of the parser's recursion: bounded, so that no text can
    // exhaust the stack of the process that reads it (the web server's included).
    if (keyword(peek(), "not") || peek().kind == Token::LParen) {
      if (++depth_ > kMaxQueryDepth) {
        fail(peek(), "nested deeper than " + std::to_string(kMaxQueryDepth) +
                         " levels of 'not' and parentheses");
      }
    }
    if (keyword(peek(), "not")) {
      next();
      auto inner = not_expr();
      --depth_;
      return {"(NOT coalesce(" + inner.sql + ", FALSE))", inner.values};
    }
    if (peek().kind == Token::LParen) {
      next();
      auto inner = or_expr();
      if (peek().kind != Token::RParen) fail(peek(), "expected ')'");
      next();
      --depth_;
      return inner;
    }
    if (++terms_ > kMaxQueryTerms) {
      fail(peek(), "more than " + std::to_string(kMaxQueryTerms) + " conditions");
    }
    return comparison();
  }

  /// A literal as a bound value; numbers bind as numbers.
  SqlValue literal(const Token& t) {
    if (t.kind == Token::Number) return std::stod(t.text);
    if (t.kind == Token::String) return t.text;
    fail(t, "expected a value (a number or a 'quoted string')");
  }

  static bool is_time_column(const Token& t) {
    if (t.kind != Token::Ident) return false;
    const std::string name = t.text.rfind("attributes.", 0) == 0 ? t.text.substr(11) : t.text;
    for (const char* c : {"created_at", "started_at", "start_time", "ended_at", "end_time"})
      if (name == c) return true;
    return false;
  }
  static bool list_literal(const Token& t) {
    return t.kind == Token::String && !t.text.empty() && t.text.front() == '[';
  }
  /// A time column compared with a 'quoted date' compares with that date's epoch seconds.
  void time_literal(const Token& column_tok, const Token& literal_tok, SqlFragment& literal_sql) {
    if (!is_time_column(column_tok) || literal_tok.kind != Token::String) return;
    auto seconds = parse_local_time(literal_tok.text);
    if (!seconds) {
      fail(literal_tok, "'" + literal_tok.text +
                            "' is not a date: use '2026-11-29', "
                            "'2026-11-29 14:05' or '2026-11-29T14:05:30' (local time)");
    }
    literal_sql.values = {*seconds};
    literal_sql.numeric = true;
  }

  SqlFragment operand(const Token& t, bool numeric) {
    if (t.kind == Token::Ident) return column(t, numeric);
    return {"?", {literal(t)}, t.kind == Token::Number};
  }
  /// A number literal as the text a stored value would have ("5", "0.001").
  static SqlValue as_text(const SqlValue& v) {
    if (const auto* d = std::get_if<double>(&v)) {
      char buf[32];
      for (int precision = 1; precision <= 17; ++precision) {  // the shortest that round-trips
        std::snprintf(buf, sizeof buf, "%.*g", precision, *d);
        if (std::strtod(buf, nullptr) == *d) break;
      }
      return std::string(buf);
    }
    return v;
  }

  SqlFragment comparison() {
    const Token& left_tok = next();
    if (left_tok.kind != Token::Ident && left_tok.kind != Token::Number &&
        left_tok.kind != Token::String) {
      fail(left_tok, left_tok.kind == Token::End
                         ? "expected a condition"
                         : "expected a column or a value, not '" + left_tok.text + "'");
    }
    bool negated = false;
    if (keyword(peek(), "not")) {
      next();
      negated = true;
      if (!keyword(peek(), "in") && !keyword(peek(), "like"))
        fail(peek(), "expected 'in' or 'like' after 'not'");
    }
    const Token& op = next();
    if (keyword(op, "is")) {
      bool is_not = false;
      if (keyword(peek(), "not")) {
        next();
        is_not = true;
      }
      if (!keyword(next(), "null")) fail(tokens_[pos_ - 1], "expected 'null' after 'is'");
      auto left = operand(left_tok, true);
      return {"(" + left.sql + (is_not ? " IS NOT NULL)" : " IS NULL)"), left.values};
    }
    if (keyword(op, "in")) {
      if (next().kind != Token::LParen) fail(tokens_[pos_ - 1], "expected '(' after 'in'");
      std::vector<SqlValue> items;
      bool numeric = false;
      while (true) {
        const Token& v = next();
        if (items.size() == kMaxListItems) {
          fail(v, "more than " + std::to_string(kMaxListItems) + " values in the list");
        }
        items.push_back(literal(v));
        numeric = numeric || v.kind == Token::Number;
        const Token& sep = next();
        if (sep.kind == Token::RParen) break;
        if (sep.kind != Token::Comma) fail(sep, "expected ',' or ')' in the list");
      }
      auto left = operand(left_tok, numeric);
      if (dialect_ == Dialect::PostgreSQL) {
        bool mixed = false;
        for (const auto& item : items)
          mixed = mixed || std::holds_alternative<double>(item) != left.numeric;
        if (mixed) {  // PostgreSQL compares one type: text, as SQLite would show them
          left.sql = "CAST(" + left.sql + " AS TEXT)";
          for (auto& item : items) item = as_text(item);
        }
      }
      SqlFragment e{"(" + left.sql + (negated ? " NOT IN (" : " IN ("), left.values};
      for (size_t i = 0; i < items.size(); ++i) e.sql += i ? ", ?" : "?";
      e.sql += "))";
      e.values.insert(e.values.end(), items.begin(), items.end());
      return e;
    }
    if (keyword(op, "like")) {
      const Token& pattern = next();
      if (pattern.kind != Token::String) fail(pattern, "expected a 'quoted pattern' after 'like'");
      auto left = operand(left_tok, false);
      // SQLite's LIKE ignores ASCII case and has no escape character; PostgreSQL's ILIKE with
      // ESCAPE '' is the same.
      SqlFragment e{dialect_ == Dialect::PostgreSQL
                        ? "(CAST(" + left.sql + " AS TEXT)" +
                              (negated ? " NOT ILIKE ? ESCAPE '')" : " ILIKE ? ESCAPE '')")
                        : "(" + left.sql + (negated ? " NOT LIKE ?)" : " LIKE ?)"),
                    left.values};
      e.values.push_back(pattern.text);
      return e;
    }
    if (op.kind != Token::Op) {
      fail(op,
           op.kind == Token::End
               ? "expected an operator (=, !=, <, <=, >, >=, in, like, is)"
               : "expected an operator (=, !=, <, <=, >, >=, in, like, is), not '" + op.text + "'");
    }
    const Token& right_tok = next();
    if (right_tok.kind != Token::Ident && right_tok.kind != Token::Number &&
        right_tok.kind != Token::String) {
      fail(right_tok, "expected a column or a value after '" + op.text + "'");
    }
    // A parameter compared with a number compares its numeric shadow.
    const bool numeric = left_tok.kind == Token::Number || right_tok.kind == Token::Number ||
                         (left_tok.kind == Token::Ident && right_tok.kind == Token::Ident);
    auto left = operand(left_tok, numeric);
    auto right = operand(right_tok, numeric);
    time_literal(left_tok, right_tok, right);
    time_literal(right_tok, left_tok, left);
    // Lists are stored as TOML writes them ("[ 64, 64 ]"): compared by value, spaces aside.
    if (list_literal(left_tok) || list_literal(right_tok)) {
      left.sql = "replace(" + left.sql + ", ' ', '')";
      right.sql = "replace(" + right.sql + ", ' ', '')";
      left.numeric = right.numeric = false;
    }
    if (dialect_ == Dialect::PostgreSQL && left.numeric != right.numeric) {
      // A number and a text: PostgreSQL's types do not mix, so both compare as text.
      for (auto* side : {&left, &right}) {
        if (!side->numeric) continue;
        if (side->sql == "?") {
          side->values[0] = as_text(side->values[0]);
        } else {
          side->sql = "CAST(" + side->sql + " AS TEXT)";
        }
      }
    }
    const std::string sql_op = op.text == "==" ? "=" : op.text == "<>" ? "!=" : op.text;
    SqlFragment e{"(" + left.sql + " " + sql_op + " " + right.sql + ")", left.values};
    e.values.insert(e.values.end(), right.values.begin(), right.values.end());
    return e;
  }

  std::string text_;
  std::string option_;
  Dialect dialect_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  size_t depth_ = 0;  // `not`s and `(`s open around the current token
  size_t terms_ = 0;  // conditions read so far
};

}  // namespace

QueryError::QueryError(const std::string& text, size_t column, const std::string& message,
                       const std::string& option)
    : std::runtime_error(render(text, column, message, option)),
      column_(column),
      message_(message) {}

SqlFragment compile_column(const std::string& name, bool numeric_params, const std::string& option,
                           Dialect dialect) {
  if (auto typo = summary_typo(name)) throw QueryError(name, 1, *typo, option);
  auto c = column_sql(name, numeric_params, dialect);
  if (!c) throw QueryError(name, 1, "unknown column '" + name + "'", option);
  return *c;
}

SqlFragment compile_filter(const std::string& text, Dialect dialect) {
  return Parser(text, "--where", dialect).filter();
}
SqlFragment compile_order(const std::string& text, Dialect dialect) {
  return Parser(text, "--order-by", dialect).order();
}
std::vector<std::string> referenced_columns(const std::string& text, const std::string& option) {
  return Parser(text, option, Dialect::SQLite).columns();
}

std::optional<double> parse_local_time(const std::string& text) {
  std::tm tm{};
  int n = 0;
  const char* s = text.c_str();
  if (std::sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 ||
      size_t(n) != 10)
    return std::nullopt;
  const std::string rest = text.substr(10);
  if (!rest.empty()) {
    if (rest[0] != ' ' && rest[0] != 'T') return std::nullopt;
    int used = 0;
    const int got = std::sscanf(rest.c_str() + 1, "%2d:%2d%n:%2d%n", &tm.tm_hour, &tm.tm_min, &used,
                                &tm.tm_sec, &used);
    if (got < 2 || size_t(used) + 1 != rest.size()) return std::nullopt;
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == std::time_t(-1)) return std::nullopt;
  return double(t);
}

}  // namespace fabric::store
