#include "sweep/controller.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/stop_signal.hpp"
#include "exp/components/run/run.hpp"
#include "exp/recipe/recipe.hpp"
#include "exp/recipe/toml_nodes.hpp"
#include "sweep/settings.hpp"
#include "sweep/slurm.hpp"
#include "sweep/sweep_store.hpp"
#include "sweep/trial_process.hpp"

namespace fabric::sweep {

using store::Status;

namespace fs = std::filesystem;

namespace {

struct Running {
  int64_t number;
  std::chrono::steady_clock::time_point started;
};

class Controller {
 public:
  /// `worker`: joined a sweep another process created (sweep work); others may be running
  /// its trials at the same time, from this host or others.
  Controller(store::RunStore& runs, SweepRecord sweep, SweepSettings settings, bool worker)
      : runs_(runs),
        sweeps_(runs),
        sweep_(std::move(sweep)),
        settings_(std::move(settings)),
        worker_(worker) {}

  int run() {
    install_stop_signal_handlers();
    auto sampler = make_sampler(settings_.space, settings_.sampler());
    const std::string store = store::is_store_url(runs_.location())
                                  ? runs_.location()
                                  : fs::absolute(runs_.location()).string();
    std::map<pid_t, Running> running;
    bool stopping = false, exhausted = false;
    auto last_beat = std::chrono::steady_clock::now();

    while (true) {
      if (stop_signal().load() && !stopping) {
        stopping = true;
        line(fmt::format("{}: stopping {} running trial(s); each writes a checkpoint",
                         strsignal(stop_signal().load()), running.size()));
        for (const auto& [pid, r] : running) kill(pid, SIGTERM);
      }
      int status = 0;
      for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
        auto it = running.find(pid);
        if (it == running.end()) continue;
        trial_ended(it->second, status, stopping);
        running.erase(it);
      }
      // Trials are claimed in the store, one at a time, so that other workers of the sweep
      // (sweep work, on any host) never take the same number.
      while (!stopping && !exhausted && int64_t(running.size()) < sweep_.parallel) {
        auto claim = sweeps_.claim_trial(sweep_.id, [&](int64_t number,
                                                        const std::vector<TrialRecord>& trials) {
          return point_toml(settings_.space,
                            sampler->propose(number, observations(settings_.space, trials, false)));
        });
        if (!claim) {
          exhausted = true;
          break;
        }
        const int64_t number = claim->number;
        if (claim->continues) {
          line(fmt::format("trial {} continues", number));
        } else {
          line(fmt::format(
              "trial {} starts: {}", number,
              point_summary(settings_.space, point_from_toml(settings_.space, claim->params))));
        }
        const std::string log = sweep_.sweep_dir + "/trial-" + std::to_string(number) + ".log";
        running[spawn_trial(sweep_.id, number, store, log)] = {number,
                                                               std::chrono::steady_clock::now()};
      }
      if (running.empty() && (stopping || exhausted)) break;
      if (std::chrono::steady_clock::now() - last_beat >
          std::chrono::duration<double>(kSweepHeartbeatSeconds)) {
        sweeps_.heartbeat(sweep_.id);
        last_beat = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    const auto trials = sweeps_.trials(sweep_.id);
    int finished = 0;
    int64_t ended = 0;
    for (const auto& t : trials) {
      finished += t.status == Status::Finished;
      ended +=
          t.status == Status::Finished || t.status == Status::Pruned || t.status == Status::Failed;
    }
    // Other workers' trials: theirs to end; the sweep ends with the last of them.
    const auto elsewhere = std::count_if(trials.begin(), trials.end(), [](const TrialRecord& t) {
      return t.status == Status::Running;
    });
    if (!stopping && ended < sweep_.max_trials && elsewhere > 0) {
      line(fmt::format("no trial left to claim; {} still running elsewhere", elsewhere));
      sweeps_.leave(sweep_.id);  // their workers' heartbeats keep the sweep running
      return 0;
    }
    if (worker_ && stopping) {
      line("stopped; this worker's trials go back to the queue for any worker");
      return 128 + stop_signal().load();
    }
    // A sweep is finished only when every trial number has ended; anything else resumes.
    if (!stopping && ended < sweep_.max_trials) {
      sweeps_.set_status(sweep_.id, Status::Stopped);
      line(fmt::format("{} of {} trials ended; continue with: fabric-exp sweep --resume {}", ended,
                       sweep_.max_trials, sweep_.id));
      return 1;
    }
    if (stopping) {
      sweeps_.set_status(sweep_.id, Status::Stopped);
      line("stopped; continue with: fabric-exp sweep --resume " + sweep_.id);
      return 128 + stop_signal().load();
    }
    sweeps_.set_status(sweep_.id, finished > 0 ? Status::Finished : Status::Failed);
    report_best(trials);
    return finished > 0 ? 0 : 1;
  }

 private:
  void line(const std::string& text) {
    std::cout << "[sweep " << sweep_.id << "] " << text << std::endl;
  }

  void trial_ended(const Running& r, int wait_status, bool stopping) {
    auto trial = sweeps_.trial(sweep_.id, r.number);
    const std::string log = sweep_.sweep_dir + "/trial-" + std::to_string(r.number) + ".log";
    if (trial && trial->status == Status::Running) {
      // The trial process died before recording its end (a crash, SIGKILL, or the sweep's own
      // stop reaching it before its signal handlers were in place): say so for it.
      const bool signaled = WIFSIGNALED(wait_status);
      const std::string how = signaled
                                  ? std::string("killed by ") + strsignal(WTERMSIG(wait_status))
                                  : "exit status " + std::to_string(WEXITSTATUS(wait_status));
      // Stopped by the sweep: not a failure of the trial, which the resume runs again.
      const bool stopped = stopping && signaled;
      const std::string tail = log_tail(log);
      const std::string error =
          stopped ? "stopped with the sweep (" + how + ") before it recorded its end"
                  : "trial process ended (" + how + ") without recording" +
                        (tail.empty() ? std::string(" anything (its log is empty)") : ": " + tail);
      const Status status = stopped ? Status::Killed : Status::Failed;
      if (!trial->run_id.empty()) {
        auto run = runs_.get(trial->run_id);
        if (run && run->status == Status::Running)
          runs_.finish_run(run->id, status, stopped ? 128 + WTERMSIG(wait_status) : 1, error);
      }
      sweeps_.end_trial(sweep_.id, r.number, status, std::nullopt, error);
      trial = sweeps_.trial(sweep_.id, r.number);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - r.started).count();
    std::string text = fmt::format("trial {} {}", r.number, status_name(trial->status));
    if (trial->value) text += fmt::format("  {} {:.6g}", sweep_.objective, *trial->value);
    if (trial->status == Status::Pruned && trial->pruned_report) {
      text += fmt::format(" (at validation {}: {:.6g} vs {:.6g})", *trial->pruned_report,
                          trial->pruned_value.value_or(NAN), trial->pruned_threshold.value_or(NAN));
    }
    if (trial->status == Status::Failed)
      text += "  " + trial->error.substr(0, 300) + "  (log: " + log + ")";
    text += fmt::format("  {:.1f} s", secs);
    if (!trial->run_id.empty()) text += "  run " + trial->run_id;
    line(text);
  }

  void report_best(const std::vector<TrialRecord>& trials) {
    const auto ranked = ranked_trials(trials, sweep_.minimize());
    const TrialRecord* best = best_trial(ranked);
    int counts[4] = {0, 0, 0, 0};
    for (const auto& t : trials) {
      counts[0] += t.status == Status::Finished;
      counts[1] += t.status == Status::Pruned;
      counts[2] += t.status == Status::Failed;
      counts[3] += t.status == Status::Killed;
    }
    line(fmt::format("done: {} finished, {} pruned, {} failed, {} killed", counts[0], counts[1],
                     counts[2], counts[3]));
    if (best) {
      line(fmt::format(
          "best: trial {} ({} {:.6g}, run {}): {}", best->number, sweep_.objective, *best->value,
          best->run_id,
          point_summary(settings_.space, point_from_toml(settings_.space, best->params))));
    }
    line("details: fabric-exp sweep show " + sweep_.id);
  }

  store::RunStore& runs_;
  SweepStore sweeps_;
  SweepRecord sweep_;
  SweepSettings settings_;
  bool worker_ = false;
};

}  // namespace

namespace {

/// --resume: the recorded sweep goes on with its own spec, its unfinished trials first.
int resume_sweep(const SweepRequest& request, const std::string& store_path) {
  store::RunStore runs(store_path);
  SweepStore sweeps(runs);
  if (!request.recipe.empty()) {
    throw UsageError("--resume continues a recorded sweep with its own recipe; drop '" +
                     request.recipe + "'");
  }
  sweeps.reap_stale();
  auto sweep = sweeps.get(sweeps.resolve(request.resume));
  if (sweep->status == Status::Finished || sweep->status == Status::Failed) {
    throw ValueError("sweep " + sweep->id + " already ended (" + status_name(sweep->status) + ")");
  }
  if (sweep->status == Status::Running) {
    throw ValueError("sweep " + sweep->id + " is running (last heartbeat from pid " +
                     std::to_string(sweep->pid) + " on " + sweep->host +
                     "); join it with: fabric-exp sweep work " + sweep->id);
  }
  SweepSettings settings = read_settings(sweep->spec);
  if (request.parallel) sweep->parallel = *request.parallel;
  int64_t unfinished = 0;  // continued by the controller's claims, which take them first
  int64_t next = 0;
  const auto trials = sweeps.trials(sweep->id);
  for (const auto& t : trials) {
    // reap_stale left no trial running whose run lives (the sweep would be running): a trial
    // still marked running has no live process and is queued again. Checked once more, so
    // that a trial is never run by two processes at once.
    if (t.status != Status::Running || t.run_id.empty()) continue;
    const auto run = runs.get(t.run_id);
    if (run && run->status == Status::Running) {
      throw ValueError("sweep " + sweep->id + " is running: trial " + std::to_string(t.number) +
                       "'s run " + t.run_id + " is alive (pid " + std::to_string(run->pid) +
                       " on " + run->host + "); join it with: fabric-exp sweep work " + sweep->id);
    }
  }
  for (const auto& t : trials) {
    // Nobody runs the trials of a stopped sweep: those left running are queued again.
    if (t.status == Status::Running) sweeps.requeue_trial(sweep->id, t.number);
    if (t.status == Status::Running || t.status == Status::Queued || t.status == Status::Killed)
      ++unfinished;
    next = std::max(next, t.number + 1);
  }
  sweeps.reopen(sweep->id);
  std::cout << "[sweep " << sweep->id << "] resuming: " << unfinished << " unfinished trial(s), "
            << (next < sweep->max_trials ? "trials " + std::to_string(next) + ".." +
                                               std::to_string(sweep->max_trials - 1) + " to start"
                                         : std::string("no new trial to start"))
            << std::endl;
  return Controller(runs, *sweep, settings, /*worker=*/false).run();
}

}  // namespace

int work_sweep(const std::string& sweep_ref, const std::string& store_arg, int64_t parallel) {
  if (parallel < 1)
    throw UsageError("--parallel must be at least 1, not " + std::to_string(parallel));
  const std::string store_path = store_arg.empty() ? store::default_store_path() : store_arg;
  store::check_store_location(store_path);
  if (!store::is_store_url(store_path) && !fs::exists(store_path))
    throw store::StoreError("no run store at '" + store_path +
                            "' (pass --store or set FABRIC_EXP_STORE to the sweep's store)");
  store::RunStore runs(store_path);
  SweepStore sweeps(runs);
  sweeps.reap_stale();
  auto sweep = sweeps.get(sweeps.resolve(sweep_ref));
  if (sweep->status == Status::Finished || sweep->status == Status::Failed) {
    std::cout << "[sweep " << sweep->id << "] already ended (" << status_name(sweep->status)
              << "): no trial left to run" << std::endl;
    return 0;
  }
  SweepSettings settings = read_settings(sweep->spec);
  sweep->parallel = parallel;
  sweeps.heartbeat(sweep->id);  // the sweep runs while a worker works on it
  // On another host the sweep's folder may not exist: trials read their base recipe there.
  fs::create_directories(sweep->sweep_dir);
  if (!fs::exists(sweep->sweep_dir + "/base.toml"))
    atomic_write(sweep->sweep_dir + "/base.toml", sweep->base_recipe);
  std::cout << "[sweep " << sweep->id << "] " << sweep->name << ": worker " << store::hostname()
            << " pid " << getpid() << ", " << parallel << " trial(s) at a time, "
            << sweep->max_trials << " in the sweep" << std::endl;
  return Controller(runs, *sweep, settings, /*worker=*/true).run();
}

namespace {

/// A new sweep as read from the recipe, its [sweep] table and the command line's multirun forms.
struct NewSweep {
  exp::Recipe recipe{};
  toml::table merged{};  // the recipe with the command line's dimensions in [sweep.parameters]
  std::string spec{}, runs_root{};
  SweepSettings settings{};
};

NewSweep read_new_sweep(const SweepRequest& request) {
  exp::SearchSpace cli_space;
  std::vector<std::string> overrides;
  std::vector<exp::Diagnostic> problems;
  for (const auto& arg : request.args) {
    try {
      if (auto d = exp::parse_sweep_argument(arg)) {
        cli_space.push_back(*d);
      } else {
        overrides.push_back(arg);
      }
    } catch (const exp::RecipeError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) throw exp::RecipeError(problems);
  // --max-trials is the override of sweep.max_trials, so the rules that need a budget see it.
  if (request.max_trials)
    overrides.push_back("++sweep.max_trials=" + std::to_string(*request.max_trials));
  exp::Recipe recipe = exp::load_recipe(request.recipe, overrides);
  const std::string base_dir = fs::absolute(request.recipe).parent_path().string();
  exp::SearchSpace space;
  if (const auto* params = recipe.table["sweep"]["parameters"].as_table())
    space = exp::parse_search_space(*params, request.recipe, problems);
  for (auto& d : cli_space) {
    d.path = exp::canonical_path(recipe.table, d.path);  // an alias names the same key
    std::erase_if(space, [&](const exp::Dimension& e) { return e.path == d.path; });
    space.push_back(d);
  }
  if (!cli_space.empty()) {
    exp::check_sweep(recipe.table, space, exp::global_registry(), base_dir, request.recipe,
                     problems);
  }
  if (space.empty()) {
    problems.push_back({{request.recipe, 0, 0},
                        "nothing to sweep: the recipe has no [sweep.parameters] and no argument "
                        "is a multirun form",
                        {"e.g. fabric-exp sweep " + request.recipe +
                         " optimizer.lr=1e-4,1e-3 run.seed=range(3)"}});
  }
  if (!problems.empty()) throw exp::RecipeError(problems);
  exp::absolutize_paths(recipe.table, base_dir);
  toml::table merged = recipe.table;
  exp::merge_into_sweep(merged, cli_space);
  // Trials run where the sweep started, whatever folder a resume is started from.
  const std::string runs_root =
      fs::absolute(recipe.table["run"]["output_dir"].value_or(exp::RunConfig{}.output_dir))
          .lexically_normal()
          .string();
  if (!merged["run"].is_table()) merged.insert("run", toml::table{});
  merged["run"].as_table()->insert_or_assign("output_dir", runs_root);
  const toml::table& sweep_table = *merged["sweep"].as_table();
  // Written with the parameters in the sweep's order and read back from that text, so this run
  // and every later reader (resume, trials, show) see the same order.
  const std::string spec = exp::sweep_spec_text(sweep_table, space);
  SweepSettings settings = read_settings(spec);
  if (!request.launcher.empty()) settings.launcher = request.launcher;
  if (request.parallel) settings.parallel = *request.parallel;
  return {std::move(recipe), std::move(merged), spec, runs_root, std::move(settings)};
}

}  // namespace

int run_sweep(const SweepRequest& request) {
  const std::string store_path =
      request.store.empty() ? store::default_store_path() : request.store;
  if (!request.resume.empty()) return resume_sweep(request, store_path);
  auto [recipe, merged, spec, runs_root, settings] = read_new_sweep(request);

  SweepRecord sweep;
  sweep.method = settings.method;
  sweep.objective = settings.objective.value_or("");
  sweep.direction = settings.objective ? settings.direction.value_or("minimize") : "";
  sweep.summary = settings.summary;
  sweep.seed = settings.seed;
  sweep.parallel = settings.parallel;
  sweep.max_trials = settings.max_trials.value_or(0);  // --max-trials is in it, as an override
  if (settings.method == "grid") {
    const int64_t size = grid_size(settings.space);
    sweep.max_trials = sweep.max_trials > 0 ? std::min(sweep.max_trials, size) : size;
  } else if (sweep.max_trials <= 0) {
    throw exp::RecipeError({{{request.recipe, 0, 0},
                             "method \"" + settings.method + "\" needs a trial budget",
                             {"set [sweep] max_trials, or pass --max-trials N"}}});
  }
  const auto& run_table = recipe.table["run"];
  sweep.name = !request.name.empty()                    ? request.name
               : run_table["name"].value<std::string>() ? *run_table["name"].value<std::string>()
                                                        : fs::path(request.recipe).stem().string();
  sweep.experiment = run_table["experiment"].value_or(exp::RunConfig{}.experiment);
  sweep.recipe_path = fs::absolute(request.recipe).string();
  sweep.recipe_text = recipe.text;
  sweep.spec = spec;
  sweep.base_recipe = exp::to_toml(exp::without_sweep(merged));

  if (request.dry_run) {
    if (settings.method == "tpe") {
      throw UsageError("--dry-run lists grid and random trials; tpe's depend on results");
    }
    auto sampler = make_sampler(settings.space, settings.sampler());
    for (int64_t n = 0; n < sweep.max_trials; ++n)
      std::cout << "trial " << n << ": " << point_summary(settings.space, sampler->propose(n, {}))
                << "\n";
    return 0;
  }

  const bool shared_store = store::is_postgres_url(store_path);
  if (settings.launcher == "slurm" && !shared_store &&
      (settings.method == "tpe" || settings.pruner != "none")) {
    throw ValueError(
        "not supported yet: the slurm launcher with a SQLite store runs independent trials (grid "
        "or random, no pruner), each task writing its own file; tpe and pruning read other "
        "trials' results while they run: give --store a postgresql:// URL");
  }
  store::RunStore runs(store_path);
  SweepStore sweeps(runs);
  sweep.id = sweeps.create(sweep, runs_root);
  sweep = *sweeps.get(sweep.id);
  atomic_write(sweep.sweep_dir + "/base.toml", sweep.base_recipe);
  atomic_write(sweep.sweep_dir + "/sweep.toml", sweep.spec);
  std::cout << "[sweep " << sweep.id << "] " << sweep.name << ": " << settings.method << " over "
            << settings.space.size() << " parameter(s), " << sweep.max_trials << " trials, "
            << sweep.parallel << " at a time"
            << (sweep.objective.empty() ? "" : ", " + sweep.direction + " " + sweep.objective)
            << "  (" << sweep.sweep_dir << ")" << std::endl;
  if (settings.launcher == "slurm" && shared_store) {
    // The workers run it: until one starts (SLURM may hold the array for hours) the sweep
    // shows as stopped, as any sweep nobody works on.
    sweeps.leave(sweep.id);
    return submit_slurm_workers(sweep, runs.location(), request.submit);
  }
  if (settings.launcher == "slurm")
    return submit_slurm_array(sweeps, sweep, settings, request.submit);
  return Controller(runs, sweep, settings, /*worker=*/false).run();
}

}  // namespace fabric::sweep
