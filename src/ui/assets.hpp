// The web app's files, embedded in the binary at build time (tools/embed_assets.py writes
// ui_assets.cpp from src/ui/assets/): nothing is read from disk or the network at run time.
#pragma once

#include <string_view>

namespace fabric::ui {

struct Asset {
  std::string_view name, content_type, bytes;
};

/// The embedded file named `name` ("index.html", "app.js"), or null.
const Asset* find_asset(std::string_view name);

}  // namespace fabric::ui
