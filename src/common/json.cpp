#include "common/json.hpp"

#include <cstdio>

#include "common/utf8.hpp"

namespace fabric {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // A byte that is not part of well-formed UTF-8 becomes U+FFFD: JSON is UTF-8.
      const size_t n = utf8_sequence_length(s, i);
      out += n ? s.substr(i, n) : std::string("\\ufffd");
      i += n ? n : 1;
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace fabric
