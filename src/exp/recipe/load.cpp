// Loading a recipe: parse, `extends` (depth-first merge), aliases to canonical names, then the
// overrides and validation.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "exp/recipe/recipe.hpp"
#include "exp/recipe/recipe_internal.hpp"
#include "exp/recipe/search_space.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "store/folder_name.hpp"

namespace fs = std::filesystem;

namespace fabric::exp {

using namespace detail;

namespace {

/// Why `text` is not a TOML file to parse, or "": a binary file (a NUL byte) or one that is not
/// UTF-8 is one error, never an excerpt of its bytes.
std::string not_text_problem(const std::string& text) {
  if (text.find('\0') != std::string::npos)
    return "this is not a text file (it contains NUL bytes): give a TOML recipe";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xe  ? 3
                     : (c >> 3) == 0x1e ? 4
                                        : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (!ok)
      return "this is not a UTF-8 text file (byte " + std::to_string(i) + "): give a TOML recipe";
    i += n;
  }
  return "";
}

std::optional<toml::table> parse_file(const std::string& path, std::vector<Diagnostic>& out) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    out.push_back({{path, 0, 0}, "this is a folder, not a recipe file", {}});
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.push_back(
        {{path, 0, 0}, std::string("cannot read the recipe: ") + std::strerror(errno), {}});
    return std::nullopt;
  }
  const std::string text = read_file(path);
  if (auto problem = not_text_problem(text); !problem.empty()) {
    out.push_back({{path, 0, 0}, problem, {}});
    return std::nullopt;
  }
  if (const int line = overlong_dotted_key_line(text)) {
    out.push_back({{path, line, 0},
                   "a key of more than " + std::to_string(kMaxKeyParts) + " dotted parts",
                   {}});
    return std::nullopt;
  }
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    out.push_back({{path, int(e.source().begin.line), int(e.source().begin.column)},
                   std::string(e.description()),
                   {}});
    return std::nullopt;
  }
}

// A derived recipe that picks another kind of component starts that table afresh: the base's
// keys belong to the other kind.
bool switches_kind(const toml::node& base, const toml::node& child) {
  auto a = base.as_table()->get("kind"), b = child.as_table()->get("kind");
  return a && b && a->is_string() && b->is_string() &&
         a->as_string()->get() != b->as_string()->get();
}

// Child values win; tables merge recursively; arrays and scalars are replaced.
void merge_into(toml::table& base, toml::table&& child) {
  for (auto&& [key, value] : child) {
    auto* existing = base.get(key);
    if (existing && existing->is_table() && value.is_table() && !switches_kind(*existing, value)) {
      merge_into(*existing->as_table(), std::move(*value.as_table()));
    } else {
      move_into(base, std::string(key.str()), std::move(value));
    }
  }
}

// ---- aliases --------------------------------------------------------------------------------
void canonicalize_table(toml::table& t, const SpecBase* spec) {
  if (!spec) return;
  for (const auto& p : spec->params()) {
    for (const auto& a : p.aliases) {
      toml::node* n = t.get(a);
      if (!n || t.contains(p.name)) continue;  // both spellings: validation says "set twice"
      move_into(t, p.name, std::move(*n));
      t.erase(a);
    }
  }
}

/// An alias is another spelling of a name: every table of `root` keeps the canonical names only,
/// so everything after loading (defaults, the engine, `config show`, params) sees one spelling.
/// `base` is the recipe `root` extends (kinds of tables `root` does not name), or null.
void canonicalize_aliases(toml::table& root, const Registry& registry, const toml::table* base) {
  for (const auto& info : registry.tables()) {
    toml::node* node = root.get(info.name);
    if (!node) continue;
    const toml::node* fallback = base ? base->get(info.name) : nullptr;
    if (info.shape == TableShape::Fixed) {
      if (auto* t = node->as_table()) canonicalize_table(*t, info.spec);
    } else if (info.shape == TableShape::Component) {
      if (auto* t = node->as_table())
        canonicalize_table(*t, component_spec(registry, info.name, *t, fallback));
    } else if (auto* arr = node->as_array()) {
      for (size_t i = 0; i < arr->size(); ++i) {
        auto* t = arr->get(i)->as_table();
        const toml::node* item_base =
            fallback && fallback->is_array() ? fallback->as_array()->get(i) : nullptr;
        if (t) canonicalize_table(*t, component_spec(registry, info.name, *t, item_base));
      }
    }
  }
}

std::optional<toml::table> load_with_extends(const std::string& path,
                                             std::vector<std::string>& stack,
                                             std::vector<Diagnostic>& out,
                                             const Registry& registry) {
  auto parsed = parse_file(path, out);
  if (!parsed) return std::nullopt;
  if (!parsed->contains("extends")) {
    canonicalize_aliases(*parsed, registry, nullptr);
    return parsed;
  }
  toml::table merged;
  if (const toml::node* ext = parsed->get("extends")) {
    std::vector<const toml::node*> bases;
    if (ext->is_string()) {
      bases.push_back(ext);
    } else if (auto arr = ext->as_array()) {
      for (const auto& b : *arr) bases.push_back(&b);
    }
    if (bases.empty() ||
        std::any_of(bases.begin(), bases.end(), [](auto* b) { return !b->is_string(); })) {
      out.push_back({pos_of(*ext, path),
                     "'extends' must be a file name or a list of file names, got " + kind_of(*ext),
                     {}});
    }
    for (const toml::node* b : bases) {
      if (!b->is_string()) continue;
      fs::path base_path = fs::path(path).parent_path() / b->as_string()->get();
      if (!fs::exists(base_path)) {
        out.push_back({pos_of(*b, path),
                       "cannot extend '" + b->as_string()->get() + "': " + base_path.string() +
                           " does not exist",
                       {}});
        continue;
      }
      std::string canonical = fs::canonical(base_path).string();
      if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
        std::vector<std::string> cycle;
        for (const auto& s : stack) cycle.push_back(fs::path(s).filename().string());
        cycle.push_back(base_path.filename().string());
        out.push_back({pos_of(*b, path), "extends cycle: " + join(cycle, " -> "), {}});
        continue;
      }
      stack.push_back(canonical);
      auto base = load_with_extends(base_path.string(), stack, out, registry);
      stack.pop_back();
      if (base) merge_into(merged, std::move(*base));
    }
  }
  parsed->erase("extends");
  canonicalize_aliases(*parsed, registry, &merged);
  merge_into(merged, std::move(*parsed));
  return merged;
}

}  // namespace

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides,
                   const Registry& registry) {
  std::vector<Diagnostic> out;
  if (!fs::exists(path)) throw RecipeError({{{path, 0, 0}, "recipe file not found", {}}});
  if (fs::is_directory(path))
    throw RecipeError({{{path, 0, 0}, "is a folder, not a recipe file", {}}});
  Recipe recipe;
  recipe.path = path;
  recipe.text = read_file(path);
  recipe.overrides = overrides;
  std::vector<std::string> stack{fs::canonical(path).string()};
  auto merged = load_with_extends(path, stack, out, registry);
  if (!merged) throw RecipeError(out);
  std::vector<Override> parsed;
  for (const auto& arg : overrides) {
    try {
      parsed.push_back(parse_override(arg));
    } catch (const RecipeError& e) {
      out.insert(out.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  for (auto& o : parsed) apply_override(*merged, o, registry, out);
  if (!out.empty()) throw RecipeError(out);
  canonicalize_sweep_parameters(*merged, registry);
  auto problems = validate_recipe(*merged, registry, fs::path(path).parent_path().string(), path);
  if (!problems.empty()) throw RecipeError(problems);
  recipe.table = std::move(*merged);
  return recipe;
}

}  // namespace fabric::exp
