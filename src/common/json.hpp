// A string as a JSON string literal, always valid UTF-8: the one JSON writer that the store (its
// overrides and env columns), the command line and the web API share.
#pragma once

#include <string>

namespace fabric {

/// `s` quoted and escaped; a byte that is not part of well-formed UTF-8 becomes U+FFFD.
std::string json_string(const std::string& s);

}  // namespace fabric
