// The filter language's tokens (query.cpp's lexer).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fabric::store::query_detail {

struct Token {
  enum Kind { Ident, Number, String, Op, LParen, RParen, Comma, End } kind;
  std::string text;
  size_t column;  // 1-based
};

/// The tokens of `s`, ending with End; a QueryError (naming `option`) at the first bad one.
std::vector<Token> tokenize(const std::string& s, const std::string& option);

}  // namespace fabric::store::query_detail
