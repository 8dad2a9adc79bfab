#!/usr/bin/env python3
"""Writes a C++ file that embeds the given files as fabric::ui assets (see src/ui/assets.hpp).

Usage: embed_assets.py OUT.cpp FILE...
"""
import os
import sys

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ['#include "ui/assets.hpp"', "", "namespace fabric::ui {", "namespace {", ""]
    entries = []
    for i, path in enumerate(sorted(files, key=os.path.basename)):
        name = os.path.basename(path)
        data = open(path, "rb").read()
        body = ",".join(str(b - 256 if b > 127 else b) for b in data)  # char is signed here
        lines.append(f"const char kAsset{i}[] = {{{body}{',' if data else ''}0}};")
        kind = TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        entries.append(f'  {{"{name}", "{kind}", {{kAsset{i}, {len(data)}}}}},')
    lines += ["", "const Asset kAssets[] = {"] + entries + ["};", "", "}  // namespace", "",
              "const Asset* find_asset(std::string_view name) {",
              "  for (const Asset& a : kAssets)",
              "    if (a.name == name) return &a;",
              "  return nullptr;", "}", "", "}  // namespace fabric::ui", ""]
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
