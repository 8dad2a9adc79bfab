// `fabric-exp sweep RECIPE [args] | --resume SWEEP`, `sweep show`, `sweep trial`,
// `sweep collect`, and `sweeps`.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "common/time_text.hpp"
#include "present/open_store.hpp"
#include "present/table_output.hpp"
#include "sweep/controller.hpp"
#include "sweep/importance.hpp"
#include "sweep/settings.hpp"
#include "sweep/slurm.hpp"
#include "sweep/sweep_store.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

namespace {

using store::SqlValue;

SqlValue optional_real(const std::optional<double>& v) {
  return v ? SqlValue{*v} : SqlValue{};
}

/// A parameter's value as the number it is (JSON and CSV readers get numbers), else its text.
SqlValue typed_value(const std::string& text) {
  if (text.empty()) return text;
  char* end = nullptr;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  if (*end == '\0') return int64_t(i);
  const double d = std::strtod(text.c_str(), &end);
  if (*end == '\0') return d;
  return text;
}

int list_sweeps(const std::string& store_arg, const std::string& format) {
  auto runs = open_store(store_arg);
  sweep::SweepStore sweeps(*runs);
  sweeps.reap_stale();
  ResultTable table{
      {"id", "name", "status", "method", "objective", "trials", "max_trials", "best", "created"},
      {}};
  for (const auto& s : sweeps.list()) {
    auto trials = sweeps.trials(s.id);
    int ended = 0;
    for (const auto& t : trials) ended += store::has_ended(t.status);
    const auto ranked = sweep::ranked_trials(trials, s.minimize());
    const auto* best = sweep::best_trial(ranked);
    const SqlValue best_value = best ? SqlValue{*best->value} : SqlValue{};
    table.rows.push_back(
        {s.id, s.name, store::status_name(s.status), s.method,
         s.objective.empty() ? SqlValue{} : SqlValue{s.direction + " " + s.objective},
         int64_t(ended), s.max_trials, best_value, local_time_text(s.created_at)});
  }
  print_table(std::cout, table, format);
  return 0;
}

int show_sweep(const std::string& ref, const std::string& store_arg, const std::string& format) {
  auto runs = open_store(store_arg);
  sweep::SweepStore sweeps(*runs);
  sweeps.reap_stale();
  const auto s = *sweeps.get(sweeps.resolve(ref));
  const auto settings = sweep::read_settings(s.spec);
  const auto trials = sweep::ranked_trials(sweeps.trials(s.id), s.minimize());

  ResultTable table{{"trial", "status"}, {}};
  if (!s.objective.empty()) table.headers.push_back(s.objective);
  for (const auto& d : settings.space) table.headers.push_back(d.path);
  table.headers.insert(table.headers.end(), {"run", "note"});
  for (const auto& t : trials) {
    std::vector<SqlValue> row{t.number, store::status_name(t.status)};
    if (!s.objective.empty()) row.push_back(optional_real(t.value));
    auto point = sweep::point_from_toml(settings.space, t.params);
    for (const auto& v : point) row.push_back(typed_value(v));
    row.push_back(t.run_id.empty() ? SqlValue{} : SqlValue{t.run_id});
    std::string note;
    if (t.status == store::Status::Pruned && t.pruned_report) {
      note = fmt::format("pruned at validation {}{}: {:.6g} vs {:.6g}", *t.pruned_report,
                         t.pruned_rung ? " (rung " + std::to_string(*t.pruned_rung) + ")" : "",
                         t.pruned_value.value_or(NAN), t.pruned_threshold.value_or(NAN));
    } else if (!t.error.empty()) {
      note = t.error.substr(0, 200);
    }
    row.push_back(note.empty() ? SqlValue{} : SqlValue{note});
    table.rows.push_back(std::move(row));
  }
  if (format != "table") {
    print_table(std::cout, table, format);
    return 0;
  }

  std::string space;
  for (const auto& d : settings.space)
    space += (space.empty() ? "" : "; ") + d.path + " " + d.describe();
  std::cout << "sweep       " << s.id << "  " << s.name << "  (experiment " << s.experiment << ")\n"
            << "status      " << s.status << "\n"
            << "method      " << s.method << ", " << s.max_trials << " trials, " << s.parallel
            << " at a time, seed " << s.seed << "\n";
  if (!s.objective.empty())
    std::cout << "objective   " << s.direction << " " << s.objective << " (" << s.summary << ")\n";
  std::cout << "pruner      " << settings.pruner << "\n"
            << "space       " << space << "\n"
            << "recipe      " << s.recipe_path << "\n"
            << "folder      " << s.sweep_dir << "\n\n";
  print_table(std::cout, table, "table");

  if (const auto* found = sweep::best_trial(trials)) {
    const auto& best = *found;
    std::cout << "\nbest: trial " << best.number << " (run " << best.run_id << "), " << s.objective
              << " " << fmt::format("{:.6g}", *best.value) << "\n";
    if (auto run = runs->get(best.run_id)) {
      std::cout << "its resolved recipe (" << run->run_dir << "/recipe.toml):\n";
      std::istringstream lines(run->resolved);
      for (std::string line; std::getline(lines, line);) std::cout << "  " << line << "\n";
    }
  }
  const auto finished = sweep::observations(settings.space, trials, /*finished_only=*/true);
  auto effects = sweep::parameter_effects(settings.space, finished, s.minimize());
  if (!effects.empty()) {
    std::cout << "\nparameter effects (" << finished.size()
              << " finished trials; importance = share of the objective's variance the "
                 "parameter alone explains):\n";
    ResultTable e{{"parameter", "importance", "effect"}, {}};
    for (const auto& p : effects) e.rows.push_back({p.path, p.importance, p.effect});
    print_table(std::cout, e, "table");
  }
  return 0;
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep", "Sweep a recipe's hyperparameters ([sweep] table or multirun arguments)");
  auto request = std::make_shared<sweep::SweepRequest>();
  sub->add_option("recipe", request->recipe, "Recipe file");
  sub->add_option("args", request->args,
                  "Overrides (a.b=v) and multirun forms: a=1,2,3  a=range(3)  a=choice(x,y)  "
                  "a=interval(0,1)  a=tag(log,interval(1e-4,1e-1))  a=int(interval(8,64))");
  sub->add_option("--parallel", request->parallel, "Trials at once (overrides sweep.parallel)");
  sub->add_option("--max-trials", request->max_trials, "Trial budget (overrides sweep.max_trials)");
  sub->add_option("--name", request->name, "Sweep name (default: the run name or file name)");
  sub->add_option("--resume", request->resume,
                  "Continue a stopped sweep (id, prefix or 'last'): unfinished trials resume "
                  "from their checkpoints, the remaining ones start");
  sub->add_option("--launcher", request->launcher, "local or slurm (overrides sweep.launcher)")
      ->check(CLI::IsMember({"local", "slurm"}));
  sub->add_flag("--submit", request->submit, "slurm: submit the job array with sbatch");
  sub->add_flag("--dry-run", request->dry_run,
                "List the trials of a grid or random sweep; run none");
  add_store_option(sub, request->store);
  register_action(sub, [request] {
    if (request->recipe.empty() && request->resume.empty()) {
      std::cerr << "fabric-exp sweep: give a recipe file, or --resume SWEEP\n";
      return 2;
    }
    return sweep::run_sweep(*request);
  });

  auto* show =
      sub->add_subcommand("show", "A sweep's trials by objective, best recipe, parameter effects");
  auto show_ref = std::make_shared<std::string>();
  auto show_store = std::make_shared<std::string>();
  auto show_format = std::make_shared<std::string>("table");
  show->add_option("sweep", *show_ref, "Sweep id, prefix or 'last'")->required();
  show->add_option("--format", *show_format, "table, csv or json (the trials)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  add_store_option(show, *show_store);
  register_action(show, [=] { return show_sweep(*show_ref, *show_store, *show_format); });

  auto* work = sub->add_subcommand(
      "work",
      "Join a sweep from any host that reaches its store: claim its next trial, run it, record "
      "it, repeat until every trial is taken");
  auto work_ref = std::make_shared<std::string>();
  auto work_store = std::make_shared<std::string>();
  auto work_parallel = std::make_shared<int64_t>(1);
  work->add_option("sweep", *work_ref, "Sweep id, prefix or 'last'")->required();
  work->add_option("--parallel", *work_parallel, "Trials at once on this host (default 1)");
  add_store_option(work, *work_store);
  register_action(work, [=] { return sweep::work_sweep(*work_ref, *work_store, *work_parallel); });

  auto* collect = sub->add_subcommand(
      "collect", "Merge the stores written by a SLURM sweep's array tasks into the run store");
  auto collect_ref = std::make_shared<std::string>();
  auto collect_store = std::make_shared<std::string>();
  collect->add_option("sweep", *collect_ref, "Sweep id, prefix or 'last'")->required();
  add_store_option(collect, *collect_store);
  register_action(collect, [=] {
    auto runs = open_store(*collect_store);
    sweep::SweepStore sweeps(*runs);
    const std::string id = sweeps.resolve(*collect_ref);
    const int ended = sweep::collect_slurm_results(sweeps, id);
    std::cout << "sweep " << id << ": " << ended << "/" << sweeps.get(id)->max_trials
              << " trials ended\n";
    return 0;
  });

  auto* list = app.add_subcommand("sweeps", "List sweeps with their status and best value");
  auto list_store = std::make_shared<std::string>();
  auto list_format = std::make_shared<std::string>("table");
  list->add_option("--format", *list_format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  add_store_option(list, *list_store);
  register_action(list, [=] { return list_sweeps(*list_store, *list_format); });
}

}  // namespace fabric::cli
