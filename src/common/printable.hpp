// Text from files and command lines echoed back in messages: control characters (an escape
// sequence can clear or rewrite the user's terminal) are shown escaped, never sent raw.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace fabric {

/// `text` with every control character except tab written as \n, \r or \xHH; with
/// `keep_newlines`, line breaks stay (a message of several lines).
inline std::string printable(std::string_view text, bool keep_newlines = false) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\n' && keep_newlines) {
      out += '\n';
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace fabric
