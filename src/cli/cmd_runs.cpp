// Querying the run store: `runs`, `show`, `metrics`, `rm`.
#include <fmt/format.h>
#include <cmath>
#include <cstdio>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "common/time_text.hpp"
#include "present/open_store.hpp"
#include "present/run_json.hpp"
#include "present/run_listing.hpp"
#include "present/table_output.hpp"
#include "store/run_query.hpp"
#include "store/run_store.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

namespace fs = std::filesystem;

namespace {

struct RunsArgs {
  std::string where, order_by, columns, format = "table", store;
  int64_t limit = 50;
};

int list_runs(const RunsArgs& a) {
  auto s = open_store(a.store);
  auto result =
      present::list_runs(*s, {a.where, a.order_by, store::split_list(a.columns), a.limit});
  if (a.format == "table") {  // durations read with their unit; CSV and JSON keep numbers
    for (size_t c = 0; c < result.headers.size(); ++c) {
      if (result.headers[c] != "duration") continue;
      for (auto& row : result.rows) {
        if (auto* d = std::get_if<double>(&row[c])) row[c] = duration_text(*d);
        if (auto* i = std::get_if<int64_t>(&row[c])) row[c] = duration_text(double(*i));
      }
    }
  }
  print_table(std::cout, {result.headers, result.rows}, a.format);
  return 0;
}

int show_run(const std::string& ref, const std::string& store_arg, const std::string& format) {
  auto s = open_store(store_arg);
  auto r = *s->get(s->resolve(ref));
  if (format == "json") {
    std::cout << run_json(*s, r) << "\n";
    return 0;
  }
  std::cout << "run         " << r.id << "  " << r.name << "  (experiment " << r.experiment << ")\n"
            << "status      " << r.status
            << (r.exit_code ? "  exit " + std::to_string(*r.exit_code) : std::string()) << "\n";
  if (!r.error.empty()) std::cout << "error       " << r.error << "\n";
  if (!r.note.empty()) std::cout << "note        " << r.note << "\n";
  std::cout << "started     " << local_time_text(r.started_at) << "\n";
  if (r.ended_at > 0)
    std::cout << "ended       " << local_time_text(r.ended_at) << "  ("
              << duration_text(r.ended_at - r.started_at) << ")\n";
  std::cout << "seed        " << r.seed << "\n"
            << "processes   " << r.world_size << " on " << r.host << " (pid " << r.pid << ")\n"
            << "recipe      " << r.recipe_path << "\n"
            << "overrides   " << r.overrides_json << "\n"
            << "folder      " << r.run_dir << "\n";
  if (!r.git_commit.empty())
    std::cout << "git         " << r.git_commit << (r.git_dirty.value_or(0) ? " (dirty)" : "")
              << "\n";
  std::cout << "environment " << r.env_json << "\n";
  auto tags = s->tags(r.id);
  if (!tags.empty()) {
    std::cout << "tags       ";
    for (const auto& [k, v] : tags) std::cout << " " << k << "=" << v;
    std::cout << "\n";
  }
  ResultTable metrics{{"metric", "last", "min", "max", "last_step", "count"}, {}};
  for (const auto& m : s->summaries(r.id)) {
    metrics.rows.push_back({m.key, m.last, m.min, m.max, m.last_step, m.count});
  }
  std::cout << "\n";
  print_table(std::cout, metrics, "table");
  auto artifacts = s->artifacts(r.id);
  if (!artifacts.empty()) {
    ResultTable art{{"artifact", "bytes", "sha256"}, {}};
    for (const auto& a : artifacts) art.rows.push_back({a.path, a.size, a.sha256.substr(0, 16)});
    std::cout << "\n";
    print_table(std::cout, art, "table");
  }
  std::cout << "\n# resolved recipe\n" << r.resolved;
  return 0;
}

int print_metrics(const std::string& ref, const std::vector<std::string>& keys,
                  const std::string& format, const std::string& store_arg) {
  auto s = open_store(store_arg);
  const std::string id = s->resolve(ref);
  // Dates for people; JSON keeps seconds since the epoch for programs.
  const bool dates = format != "json";
  ResultTable t{{"key", "step", "epoch", "value", "wall_time"}, {}};
  for (const auto& p : s->metrics(id, keys)) {
    t.rows.push_back(
        {p.key, p.step, p.epoch, p.value,
         dates ? store::SqlValue{local_time_ms_text(p.wall_time)} : store::SqlValue{p.wall_time}});
  }
  if (t.rows.empty() && !keys.empty()) {
    throw store::StoreError("run " + id +
                            " has none of those metrics (it has: " + metric_keys(*s, id) + ")");
  }
  print_table(std::cout, t, format);
  return 0;
}

int remove_runs(const std::vector<std::string>& refs, bool yes, const std::string& store_arg) {
  auto s = open_store(store_arg);
  std::vector<store::RunRecord> runs;
  for (const auto& ref : refs) runs.push_back(*s->get(s->resolve(ref)));
  if (!yes) {
    std::cout << "delete " << runs.size() << " run(s) and their folders?\n";
    for (const auto& r : runs)
      std::cout << "  " << r.id << "  " << r.name << "  " << r.run_dir << "\n";
    std::cout << "[y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "nothing deleted\n";
      return 1;
    }
  }
  for (const auto& r : runs) {
    if (r.status == store::Status::Running) {
      throw store::StoreError("run " + r.id + " is still running (pid " + std::to_string(r.pid) +
                              ")");
    }
    // Rows first: a folder without rows is an orphan `gc` finds; rows without a folder would lie.
    s->delete_run(r.id);
    std::error_code ec;
    fs::remove_all(r.run_dir, ec);
    std::cout << "deleted " << r.id << "\n";
  }
  return 0;
}

/// Orphans: run folders no row points at, and artifact rows whose file is gone.
int collect_garbage(bool yes, const std::string& store_arg) {
  auto s = open_store(store_arg);
  std::set<std::string> known_dirs, roots;
  std::vector<std::pair<std::string, std::string>> missing_artifacts;  // run, path
  {
    auto st = s->db().prepare("SELECT run_dir FROM runs");
    while (st.step()) {
      known_dirs.insert(st.text(0));
      roots.insert(fs::path(st.text(0)).parent_path().string());
    }
    auto art = s->db().prepare("SELECT run_id, path FROM artifacts");
    while (art.step())
      if (!fs::exists(art.text(1))) missing_artifacts.emplace_back(art.text(0), art.text(1));
  }
  std::vector<fs::path> orphans;
  static const std::regex run_folder(".+-[23456789a-km-np-z]{8}");
  for (const auto& root : roots) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec)) {
      if (!e.is_directory() || !std::regex_match(e.path().filename().string(), run_folder) ||
          known_dirs.count(e.path().string()))
        continue;
      // Only folders this store created: others may belong to another store sharing runs/.
      std::ifstream marker(e.path() / ".fabric-exp-store");
      std::string owner;
      std::getline(marker, owner);
      if (owner == s->db().identity()) orphans.push_back(e.path());
    }
  }
  for (const auto& o : orphans) std::cout << "orphan folder  " << o.string() << "\n";
  for (const auto& [run, path] : missing_artifacts)
    std::cout << "missing file   " << path << " (run " << run << ")\n";
  if (orphans.empty() && missing_artifacts.empty()) {
    std::cout << "nothing to collect\n";
    return 0;
  }
  if (!yes) {
    std::cout << "delete these folders and forget the missing files? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "nothing deleted\n";
      return 1;
    }
  }
  for (const auto& o : orphans) fs::remove_all(o);
  for (const auto& [run, path] : missing_artifacts) s->remove_artifact(run, path);
  std::cout << "removed " << orphans.size() << " folder(s), " << missing_artifacts.size()
            << " artifact row(s)\n";
  return 0;
}

}  // namespace

void add_runs_commands(CLI::App& app) {
  {
    auto* sub = app.add_subcommand(
        "gc", "Delete run folders no run points at; forget artifacts whose file is gone");
    auto yes = std::make_shared<bool>(false);
    auto store_arg = std::make_shared<std::string>();
    sub->add_flag("--yes,-y", *yes, "Do not ask");
    add_store_option(sub, *store_arg);
    register_action(sub, [=] { return collect_garbage(*yes, *store_arg); });
  }
  {
    auto* sub = app.add_subcommand("runs", "List and filter past runs");
    auto a = std::make_shared<RunsArgs>();
    sub->add_option(
        "--where", a->where,
        "Filter, e.g. \"metrics.val/accuracy.max > 0.9 and params.optimizer.kind = 'adamw'\"");
    sub->add_option("--order-by", a->order_by,
                    "Order, e.g. \"metrics.val/loss.min, created_at desc\"");
    sub->add_option("--limit", a->limit, "At most this many runs (default 50)");
    sub->add_option("--columns", a->columns,
                    "Comma-separated columns to show after id, name, status");
    sub->add_option("--format", a->format, "table, csv or json")
        ->check(CLI::IsMember({"table", "csv", "json"}));
    add_store_option(sub, a->store);
    register_action(sub, [a] { return list_runs(*a); });
  }
  {
    auto* sub = app.add_subcommand("show", "Show one run: recipe, environment, metrics, artifacts");
    auto ref = std::make_shared<std::string>();
    auto store_arg = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("table");
    sub->add_option("run", *ref, "Run id, unique prefix, or 'last'")->required();
    add_store_option(sub, *store_arg);
    sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    register_action(sub, [ref, store_arg, format] { return show_run(*ref, *store_arg, *format); });
  }
  {
    auto* sub = app.add_subcommand("metrics", "Print a run's metric values");
    auto ref = std::make_shared<std::string>();
    auto keys = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("table");
    auto store_arg = std::make_shared<std::string>();
    sub->add_option("run", *ref, "Run id, unique prefix, or 'last'")->required();
    sub->add_option("keys", *keys, "Metric keys (default: all)");
    sub->add_option("--format", *format, "table, csv or json")
        ->check(CLI::IsMember({"table", "csv", "json"}));
    add_store_option(sub, *store_arg);
    register_action(sub, [=] { return print_metrics(*ref, *keys, *format, *store_arg); });
  }
  {
    auto* sub = app.add_subcommand("rm", "Delete runs and their folders");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto yes = std::make_shared<bool>(false);
    auto store_arg = std::make_shared<std::string>();
    sub->add_option("runs", *refs, "Run ids, prefixes or 'last'")->required();
    sub->add_flag("--yes,-y", *yes, "Do not ask");
    add_store_option(sub, *store_arg);
    register_action(sub, [=] { return remove_runs(*refs, *yes, *store_arg); });
  }
}

}  // namespace fabric::cli
