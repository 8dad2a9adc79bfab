// The filter language's tokens: names, numbers, quoted strings, operators, parentheses, commas.
#include "store/query_tokens.hpp"

#include <cctype>

#include "store/query.hpp"

namespace fabric::store::query_detail {

std::vector<Token> tokenize(const std::string& s, const std::string& option) {
  std::vector<Token> out;
  size_t i = 0;
  auto fail = [&](size_t at, const std::string& msg) { throw QueryError(s, at + 1, msg, option); };
  if (s.size() > kMaxQueryLength) {
    fail(kMaxQueryLength, "longer than " + std::to_string(kMaxQueryLength) + " characters");
  }
  if (auto nul = s.find('\0'); nul != std::string::npos) fail(nul, "a NUL character");
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')' || c == ',') {
      out.push_back({c == '('   ? Token::LParen
                     : c == ')' ? Token::RParen
                                : Token::Comma,
                     std::string(1, c), i + 1});
      ++i;
    } else if (c == '\'' || c == '"') {
      const size_t start = i++;
      std::string value;
      while (true) {
        if (i >= s.size()) fail(start, "unterminated string");
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {  // '' inside a string is one quote
            value += c;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += s[i++];
      }
      out.push_back({Token::String, value, start + 1});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               ((c == '-' || c == '.') && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      const size_t start = i;
      size_t used = 0;
      try {
        std::stod(s.substr(i), &used);
      } catch (...) {
        fail(i, "malformed number");
      }
      i += used;
      if (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_'))
        fail(start, "malformed number");
      out.push_back({Token::Number, s.substr(start, used), start + 1});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '`') {
      const size_t start = i;
      std::string name;
      while (i < s.size()) {
        if (s[i] == '`') {  // `a key with spaces`
          auto close = s.find('`', i + 1);
          if (close == std::string::npos) fail(i, "unterminated `quoted` name");
          name += s.substr(i + 1, close - i - 1);
          i = close + 1;
        } else if (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '.' ||
                   s[i] == '/' || s[i] == '-') {
          name += s[i++];
        } else {
          break;
        }
      }
      out.push_back({Token::Ident, name, start + 1});
    } else {
      static const std::vector<std::string> ops{"<=", ">=", "!=", "<>", "==", "=", "<", ">"};
      bool matched = false;
      for (const auto& op : ops) {
        if (s.compare(i, op.size(), op) == 0) {
          out.push_back({Token::Op, op, i + 1});
          i += op.size();
          matched = true;
          break;
        }
      }
      if (!matched) fail(i, std::string("unexpected character '") + c + "'");
    }
  }
  out.push_back({Token::End, "", s.size() + 1});
  return out;
}

}  // namespace fabric::store::query_detail
