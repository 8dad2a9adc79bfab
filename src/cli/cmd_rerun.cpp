// `fabric-exp rerun RUN`: the recorded resolved recipe again, with the same seed, saying what
// drifted since (fabric-exp, LibTorch, compiler, git commit of the recipe's folder).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <regex>

#include "cli/commands.hpp"
#include "engine/environment.hpp"
#include "engine/run.hpp"
#include "present/open_store.hpp"
#include "store/run_store.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> parse_flat_json(const std::string& json) {
  std::map<std::string, std::string> out;
  static const std::regex pair("\"([^\"]*)\":\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), pair); it != std::sregex_iterator();
       ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}

/// How the rerun's metrics compare with the original's: the last value of every metric both
/// have, and whether they are identical (same seed, same build: they should be).
void compare_with_original(const std::string& store_path, const std::string& original,
                           const std::vector<store::MetricSummary>& before) {
  store::RunStore s(store_path);
  auto& db = s.db();
  auto st = db.prepare("SELECT id FROM runs WHERE parent = ? ORDER BY created_at DESC, rowid DESC");
  st.bind(1, original);
  if (!st.step()) return;
  const std::string rerun_id = st.text(0);
  std::map<std::string, double> after;
  for (const auto& m : s.summaries(rerun_id)) after[m.key] = m.last;
  int differ = 0, compared = 0, wall_clock = 0;
  std::cout << "\nrerun " << rerun_id << " against " << original << " (last values):\n";
  for (const auto& m : before) {
    auto it = after.find(m.key);
    if (it == after.end() || m.key == "epoch") continue;
    if (store::is_wall_clock_metric(m.key)) {
      ++wall_clock;
      continue;
    }
    ++compared;
    const bool same = it->second == m.last;
    differ += !same;
    std::cout << "  " << m.key << "  " << fmt::format("{:.6g}", m.last) << " -> "
              << fmt::format("{:.6g}", it->second)
              << (same ? "  (identical)" : fmt::format("  ({:+.3g})", it->second - m.last)) << "\n";
  }
  if (compared > 0)
    std::cout << (differ == 0 ? "every metric identical\n"
                              : std::to_string(differ) + " of " + std::to_string(compared) +
                                    " metrics differ\n");
  if (wall_clock > 0)
    std::cout << "(" << wall_clock
              << " sys/ and throughput/ metrics measure the machine, not training: not compared)\n";
}

int rerun(const std::string& ref, const std::string& store_arg) {
  std::string path;
  store::RunRecord run;
  std::map<std::string, std::string> tags;
  std::vector<store::MetricSummary> before;
  {
    auto s = open_store(store_arg);
    path = s->path();
    run = *s->get(s->resolve(ref));
    tags = s->tags(run.id);
    before = s->summaries(run.id);
  }
  const std::string recipe = run.run_dir + "/recipe.toml";
  if (!fs::exists(recipe)) {
    throw store::StoreError("run " + run.id + ": its resolved recipe " + recipe + " is gone");
  }
  // What changed since the run was recorded.
  auto then = parse_flat_json(run.env_json), now = engine::environment_facts();
  int drift = 0;
  for (const char* key : {"fabric_exp", "libtorch", "compiler", "cuda", "cuda_devices"}) {
    if (then.count(key) && then[key] != now[key]) {
      std::cout << "drift: " << key << " " << then[key] << " -> " << now[key] << "\n";
      ++drift;
    }
  }
  if (!run.git_commit.empty()) {
    auto git = engine::git_state(fs::path(run.recipe_path).parent_path().string());
    if (git.commit != run.git_commit) {
      std::cout << "drift: git commit " << run.git_commit.substr(0, 12) << " -> "
                << (git.commit.empty() ? "(no repository)" : git.commit.substr(0, 12)) << "\n";
      ++drift;
    } else if (git.dirty.value_or(false) != bool(run.git_dirty.value_or(0))) {
      std::cout << "drift: the recipe's repository is "
                << (git.dirty.value_or(false) ? "now" : "no longer") << " dirty\n";
      ++drift;
    }
  }
  if (drift == 0) std::cout << "no drift: same fabric-exp, LibTorch, compiler and commit\n";
  engine::RunRequest request;
  request.recipe = recipe;
  request.store = path;
  request.parent = run.id;
  request.seed = run.seed;
  request.note = "rerun of " + run.id;
  for (const auto& [k, v] : tags) request.tags.push_back(k + "=" + v);  // the original's tags
  const int code = engine::run_recipe(request);
  compare_with_original(path, run.id, before);
  return code;
}

}  // namespace

void add_rerun_command(CLI::App& app) {
  auto* sub = app.add_subcommand("rerun", training_command_help("rerun"));
  auto ref = std::make_shared<std::string>();
  auto store_arg = std::make_shared<std::string>();
  sub->add_option("run", *ref, "Run id, unique prefix, or 'last'")->required();
  add_store_option(sub, *store_arg);
  register_action(sub, [=] { return rerun(*ref, *store_arg); });
}

}  // namespace fabric::cli
