// Small facts about TOML nodes that diagnostics and the sweep layer share: where a node was
// written, how to name its type and value in a message, and its TOML text.
#pragma once

#include <toml++/toml.h>

#include <memory>
#include <string>

#include "exp/diag/diagnostic.hpp"

namespace fabric::exp {

SourcePos pos_of(const toml::source_region& src, const std::string& fallback_file);
/// Where a node was written; `fallback_file` names the file when the node has no source.
SourcePos pos_of(const toml::node& node, const std::string& fallback_file = "");
/// A key added by an override has no position of its own; its value's position names the
/// override.
SourcePos key_pos(const toml::key& key, const toml::node& value, const std::string& fallback_file);
/// The value for a message: "adam" quoted, numbers as written, "an array" for containers.
std::string describe(const toml::node& node);
/// "a string", "an integer", ...
std::string kind_of(const toml::node& node);
/// A value typed on the command line, under the key "v" of the returned table: parsed as TOML, or
/// a bare word (optimizer.kind=adamw) as a string, as in Hydra. `source` names it in the nodes'
/// positions. A table with other keys means the text was not one value.
toml::table parse_command_line_value(const std::string& text, const std::string& source = "");
/// That value as a node of its own (the text as a string when it was not one value).
std::shared_ptr<toml::node> parse_value(const std::string& text);

/// toml++ recurses once per part of a dotted key (`a.b.c = 1`, `[a.b.c]`) and has no bound on
/// them (it does bound nested arrays and inline tables, at 256), so a long enough key exhausts
/// the stack of whatever parses it. Checked on the text first: the 1-based line of a key with
/// more than kMaxKeyParts parts, or 0.
inline constexpr size_t kMaxKeyParts = 64;
int overlong_dotted_key_line(const std::string& text);
/// The node as one TOML value ("0.001", "\"adam\"", "[64, 64]"): it parses back to an equal
/// node, so it can travel in an override and be compared as text.
std::string value_text(const toml::node& node);

}  // namespace fabric::exp
