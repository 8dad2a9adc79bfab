#include "sweep/slurm.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include "common/atomic_write.hpp"
#include "common/error.hpp"

#include <filesystem>
#include <iostream>
#include <sstream>

namespace fabric::sweep {

namespace fs = std::filesystem;

namespace {

std::string task_store(const SweepRecord& sweep, int64_t number) {
  return sweep.sweep_dir + "/slurm/trial-" + std::to_string(number) + ".db";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Writes the job script (atomically, executable) and, with `submit`, hands it to sbatch;
/// without, says how to. `next` is the line about what comes after (collecting, more workers).
int write_and_submit(const std::string& script, const std::string& text, bool submit,
                     const std::string& next) {
  atomic_write(script, text);
  chmod(script.c_str(), 0755);
  if (!submit) {
    std::cout << "  submit:  sbatch " << script << "\n" << next << "\n";
    return 0;
  }
  const int rc = std::system(("sbatch " + shell_quote(script)).c_str());
  if (rc != 0) {
    std::cerr << "fabric-exp: error: sbatch " << script << " failed (status " << rc
              << "); the script stays for a manual submission\n";
    return 1;
  }
  std::cout << next << "\n";
  return 0;
}

}  // namespace

int submit_slurm_array(SweepStore& sweeps, const SweepRecord& sweep, const SweepSettings& settings,
                       bool submit) {
  const std::string dir = sweep.sweep_dir + "/slurm";
  fs::create_directories(dir);
  auto sampler = make_sampler(settings.space, settings.sampler());
  SweepRecord copy = sweep;
  copy.status = store::Status::Running;
  for (int64_t n = 0; n < sweep.max_trials; ++n) {
    const std::string params = point_toml(settings.space, sampler->propose(n, {}));
    sweeps.queue_trial(sweep.id, n, params);
    store::RunStore task(task_store(sweep, n));
    SweepStore task_sweeps(task);
    task_sweeps.insert(copy);
    task_sweeps.queue_trial(sweep.id, n, params);
  }
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string script = dir + "/array.sbatch";
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# fabric-exp sweep " << sweep.id << " (" << sweep.name << "): one array task per trial.\n"
      << "# Each task writes its own store; `fabric-exp sweep collect " << sweep.id
      << "` merges them.\n"
      << "#SBATCH --job-name=fabric-exp-" << sweep.name << "\n"
      << "#SBATCH --array=0-" << sweep.max_trials - 1 << "%" << sweep.parallel << "\n"
      << "#SBATCH --output=" << dir << "/trial-%a.log\n"
      << "cd " << shell_quote(fs::current_path().string()) << " || exit 1\n"
      << "exec " << shell_quote(exe) << " sweep trial " << sweep.id
      << " \"$SLURM_ARRAY_TASK_ID\" --store " << shell_quote(dir)
      << "/trial-\"$SLURM_ARRAY_TASK_ID\".db\n";
  std::cout << "[sweep " << sweep.id << "] job array for " << sweep.max_trials
            << " trials: " << script << "\n";
  return write_and_submit(script, out.str(), submit,
                          "  collect: fabric-exp sweep collect " + sweep.id);
}

int submit_slurm_workers(const SweepRecord& sweep, const std::string& store_url, bool submit) {
  const std::string dir = sweep.sweep_dir + "/slurm";
  fs::create_directories(dir);
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string script = dir + "/workers.sbatch";
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# fabric-exp sweep " << sweep.id << " (" << sweep.name << "): " << sweep.parallel
      << " worker task(s), each claiming trials from the shared store until the budget is spent.\n"
      << "# The store's password comes from PGPASSWORD or ~/.pgpass, never from this file.\n"
      << "#SBATCH --job-name=fabric-exp-" << sweep.name << "\n"
      << "#SBATCH --array=0-" << sweep.parallel - 1 << "\n"
      << "#SBATCH --output=" << dir << "/worker-%a.log\n"
      << "cd " << shell_quote(fs::current_path().string()) << " || exit 1\n"
      << "export FABRIC_EXP_STORE=" << shell_quote(store::without_password(store_url)) << "\n"
      << "exec " << shell_quote(exe) << " sweep work " << sweep.id << "\n";
  std::cout << "[sweep " << sweep.id << "] job array of " << sweep.parallel
            << " sweep worker(s): " << script << "\n";
  return write_and_submit(script, out.str(), submit,
                          "  more workers, from any host: fabric-exp sweep work " + sweep.id);
}

int collect_slurm_results(SweepStore& sweeps, const std::string& sweep_id) {
  auto sweep = sweeps.get(sweep_id);
  auto& db = sweeps.runs().db();
  if (db.dialect() != store::Dialect::SQLite)
    throw ValueError("not supported yet: sweep collect into a PostgreSQL store");
  int ended = 0;
  for (const auto& t : sweeps.trials(sweep_id)) {
    const std::string path = task_store(*sweep, t.number);
    if (!fs::exists(path)) continue;
    { store::RunStore migrate(path); }  // a task store written by an older fabric-exp
    db.prepare("ATTACH DATABASE ? AS task").bind(1, path).run();
    try {
      db.transaction([&] {
        for (const char* table :
             {"runs", "params", "tags", "metrics", "metric_summary", "artifacts"})
          db.exec(fmt::format("INSERT OR REPLACE INTO main.{0} SELECT * FROM task.{0}", table));
        db.prepare(
              "INSERT OR REPLACE INTO main.trials SELECT * FROM task.trials WHERE sweep_id = ?")
            .bind(1, sweep_id)
            .run();
      });
    } catch (...) {
      db.exec("DETACH DATABASE task");
      throw;
    }
    db.exec("DETACH DATABASE task");
  }
  for (const auto& t : sweeps.trials(sweep_id)) ended += store::has_ended(t.status);
  if (ended == sweep->max_trials) sweeps.set_status(sweep_id, store::Status::Finished);
  return ended;
}

}  // namespace fabric::sweep
