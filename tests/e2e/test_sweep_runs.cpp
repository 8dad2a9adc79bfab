// `fabric-exp sweep` as users run it: the real binary, trials as real child processes, one real
// SQLite store.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "e2e/run_helpers.hpp"
#include "store/run_store.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::wait_for;
using test_support::TempDir;

namespace {

std::string sweep_recipe(const std::string& name) {
  return std::string(FABRIC_SOURCE_DIR) + "/tests/recipes/sweep/" + name;
}

/// Trial number -> its parameters, in number order.
std::vector<std::string> trial_params(const TempDir& dir, const std::string& sweep_id) {
  std::vector<std::string> out;
  for (const auto& row :
       query(dir, "SELECT params FROM trials WHERE sweep_id = '" + sweep_id + "' ORDER BY number"))
    out.push_back(row[0]);
  return out;
}

std::string newest_sweep(const TempDir& dir) {
  return query_one(dir, "SELECT id FROM sweeps ORDER BY created_at DESC LIMIT 1");
}

}  // namespace

TEST_CASE("a 2x2 grid with parallel 2 runs 4 trials, never more than 2 at once, picks the best",
          "[e2e][sweep]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  auto r = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                               " optimizer.lr=1e-4,3e-3 'model.hidden=[16],[64]' run.max_epochs=1"
                               " ++sweep.objective=val/accuracy ++sweep.direction=maximize"
                               " --parallel 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string id = newest_sweep(dir);
  CHECK(query_one(dir, "SELECT status || ' ' || max_trials || ' ' || parallel FROM sweeps") ==
        "finished 4 2");
  auto trials = query(dir,
                      "SELECT number, status, params, value, started_at, ended_at, run_id "
                      "FROM trials ORDER BY number");
  REQUIRE(trials.size() == 4);
  std::set<std::string> params;
  for (const auto& t : trials) {
    CHECK(t[1] == "finished");
    params.insert(t[2]);
    // Each trial is a normal run linked to its sweep.
    CHECK(query_one(dir, "SELECT parent || ' ' || status FROM runs WHERE id = '" + t[6] + "'") ==
          id + " finished");
    CHECK(query_one(dir, "SELECT value FROM tags WHERE key = 'trial' AND run_id = '" + t[6] +
                             "'") == t[0]);
  }
  CHECK(params.size() == 4);  // every combination once
  // At no trial's start were more than two trials running.
  for (const auto& t : trials) {
    const double start = std::stod(t[4]);
    int running = 0;
    for (const auto& u : trials) running += std::stod(u[4]) <= start && start < std::stod(u[5]);
    CHECK(running <= 2);
  }
  // The best is the trial with the highest recorded val/accuracy, in the summary and in show.
  const std::string best = query_one(dir, "SELECT number FROM trials ORDER BY value DESC LIMIT 1");
  CHECK(contains(r.output, "best: trial " + best + " "));
  auto show = fabric_exp(dir, "sweep show " + id.substr(0, 4) + " --format csv");
  REQUIRE(show.exit_code == 0);
  CHECK(show.output.rfind(
            "trial,status,val/accuracy,optimizer.lr,model.hidden,run,note\n" + best + ",finished,",
            0) == 0);
  auto table = fabric_exp(dir, "sweep show last");
  CHECK(contains(table.output, "parameter effects (4 finished trials"));
  CHECK(contains(table.output, "its resolved recipe"));
  auto list = fabric_exp(dir, "sweeps --format json");
  // Counts and parameter values are JSON numbers.
  CHECK(contains(list.output, "\"trials\": 4, \"max_trials\": 4"));
  auto shown = fabric_exp(dir, "sweep show last --format json");
  CHECK(contains(shown.output, "\"optimizer.lr\": 0.003"));
  CHECK(contains(shown.output, "\"model.hidden\": \"[64]\""));
  // The trials are runs like any other: queryable by their sweep tag.
  auto runs =
      fabric_exp(dir, "runs --where \"tags.sweep = '" + id + "'\" --format csv --columns id");
  CHECK(std::count(runs.output.begin(), runs.output.end(), '\n') == 5);
}

TEST_CASE("trials can be DDP runs: two processes each, one run per trial", "[e2e][sweep][ddp]") {
  TempDir dir;
  auto r = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                               " optimizer.lr=1e-3,3e-3 run.max_epochs=1 fabric.accelerator=cpu "
                               "fabric.strategy=ddp fabric.devices=2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT group_concat(status) FROM trials") == "finished,finished");
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "2");  // rank 1 records nothing
  CHECK(query_one(dir, "SELECT group_concat(world_size) FROM runs") == "2,2");
  CHECK(query_one(dir, "SELECT count(*) FROM trials t JOIN runs r ON r.id = t.run_id") == "2");
}

TEST_CASE("random and tpe sweeps are reproducible from their seed", "[e2e][sweep]") {
  TempDir dir;
  auto sweep = [&](const std::string& args) {
    auto r = fabric_exp(dir, "sweep " + q(sweep_recipe("prune.toml")) +
                                 " sweep.pruner=none run.max_steps=20 'optimizer.lr=tag(log, "
                                 "interval(1e-4, 1e-2))' 'model.hidden=[16],[32]' " +
                                 args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return trial_params(dir, newest_sweep(dir));
  };
  const auto random_a = sweep("sweep.method=random ++sweep.max_trials=3");
  const auto random_b = sweep("sweep.method=random ++sweep.max_trials=3 --parallel 2");
  const auto random_c = sweep("sweep.method=random ++sweep.max_trials=3 sweep.seed=5");
  REQUIRE(random_a.size() == 3);
  CHECK(random_a == random_b);  // random: the same trials in parallel too
  CHECK(random_a != random_c);
  const auto tpe_a = sweep("sweep.method=tpe ++sweep.max_trials=4 sweep.startup_trials=2");
  const auto tpe_b = sweep("sweep.method=tpe ++sweep.max_trials=4 sweep.startup_trials=2");
  REQUIRE(tpe_a.size() == 4);
  CHECK(tpe_a == tpe_b);
}

TEST_CASE("the median pruner stops the known-bad trials at their first validation",
          "[e2e][sweep][pruning]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  auto r = fabric_exp(dir, "sweep " + q(sweep_recipe("prune.toml")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto trials = query(dir,
                      "SELECT t.number, t.status, t.pruned_report, r.status, "
                      "(SELECT count(*) FROM metrics m WHERE m.run_id = t.run_id AND m.key = "
                      "'val/loss'), "
                      "(SELECT count(*) FROM metrics m WHERE m.run_id = t.run_id AND m.key LIKE "
                      "'test/%') FROM trials t JOIN runs r ON r.id = t.run_id ORDER BY t.number");
  REQUIRE(trials.size() == 4);
  // lr 3e-3 and 2e-3 run their 6 validations and the test; 1e-6 and 1e-7 stop at the first.
  CHECK(trials[0] == std::vector<std::string>{"0", "finished", "", "finished", "6", "1"});
  CHECK(trials[1] == std::vector<std::string>{"1", "finished", "", "finished", "6", "1"});
  CHECK(trials[2] == std::vector<std::string>{"2", "pruned", "1", "pruned", "1", "0"});
  CHECK(trials[3] == std::vector<std::string>{"3", "pruned", "1", "pruned", "1", "0"});
  // What a pruned trial was compared to: the median of the finished trials' first validations.
  auto pruned = query(dir, "SELECT pruned_value, pruned_threshold FROM trials WHERE number = 2");
  const double first0 = std::stod(
      query_one(dir,
                "SELECT value FROM metrics WHERE key = 'val/loss' AND run_id = (SELECT run_id FROM "
                "trials WHERE number = 0) ORDER BY step LIMIT 1"));
  const double first1 = std::stod(
      query_one(dir,
                "SELECT value FROM metrics WHERE key = 'val/loss' AND run_id = (SELECT run_id FROM "
                "trials WHERE number = 1) ORDER BY step LIMIT 1"));
  CHECK(std::stod(pruned[0][1]) == Approx((first0 + first1) / 2));
  CHECK(std::stod(pruned[0][0]) > std::stod(pruned[0][1]));
  CHECK(contains(r.output, "trial 2 pruned"));
  CHECK(contains(query_one(dir, "SELECT error FROM runs WHERE status = 'pruned' LIMIT 1"),
                 "median pruner"));
}

TEST_CASE("asha stops a trial that is outside the top 1/eta of its rung", "[e2e][sweep][pruning]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  auto r = fabric_exp(
      dir, "sweep " + q(sweep_recipe("prune.toml")) +
               " sweep.pruner=asha sweep.reduction_factor=2 optimizer.lr=3e-3,1e-6,1e-7");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto trials =
      query(dir, "SELECT number, status, pruned_report, pruned_rung FROM trials ORDER BY number");
  REQUIRE(trials.size() == 3);
  CHECK(trials[0] == std::vector<std::string>{"0", "finished", "", ""});
  CHECK(trials[1] == std::vector<std::string>{"1", "pruned", "1", "0"});
  CHECK(trials[2] == std::vector<std::string>{"2", "pruned", "1", "0"});
  // Rungs at validations 1, 2, 4 (min_resource 1, eta 2): the finished trial reached all three.
  CHECK(query(dir, "SELECT rung FROM sweep_rungs WHERE number = 0 ORDER BY rung") ==
        std::vector<std::vector<std::string>>{{"0"}, {"1"}, {"2"}});
  CHECK(query_one(dir, "SELECT count(*) FROM sweep_rungs WHERE rung = 0") == "3");
}

TEST_CASE("a sweep whose controller is killed resumes to exactly max_trials trials",
          "[e2e][sweep][resume]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  // Trials of a few seconds each, so that the kill lands while two of them are training.
  const std::string cmd = "cd " + q(dir.str()) +
                          " && FABRIC_EXP_STORE=" + q(e2e::store_location(dir)) + " " +
                          q(e2e::binary()) + " sweep " + q(e2e::recipe("quickstart.toml")) +
                          " optimizer.lr=1e-3,2e-3,3e-3 'model.hidden=[1024,1024]' "
                          "data.samples=20000 run.max_epochs=2 --parallel 2 > sweep.log 2>&1 &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(wait_for(dir, "SELECT count(DISTINCT run_id) FROM metrics WHERE key = 'train/loss'", 60));
  // kill -9: the controller cannot clean up; its trials get SIGTERM from the kernel
  // (PR_SET_PDEATHSIG), write a checkpoint and record themselves as killed.
  const std::string pid = query_one(dir, "SELECT pid FROM sweeps");
  REQUIRE(::kill(std::stoi(pid), SIGKILL) == 0);
  REQUIRE(wait_for(dir, "SELECT count(*) = 2 FROM trials WHERE status = 'killed'", 30));
  auto sweeps = fabric_exp(dir, "sweeps --format csv");
  CHECK(contains(sweeps.output, ",stopped,"));  // its process is gone: shown as stopped
  CHECK(query_one(dir, "SELECT count(*) FROM trials") == "2");

  auto r = fabric_exp(dir, "sweep --resume last");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.output, "resuming: 2 unfinished trial(s), trials 2..2 to start"));
  auto trials = query(dir, "SELECT number, status, run_id FROM trials ORDER BY number");
  REQUIRE(trials.size() == 3);
  for (int n = 0; n < 3; ++n) {
    CHECK(trials[size_t(n)][0] == std::to_string(n));
    CHECK(trials[size_t(n)][1] == "finished");
  }
  // The killed trials continued their own runs from their checkpoints: three runs in all.
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "3");
  CHECK(query_one(dir, "SELECT count(*) FROM runs WHERE status = 'finished'") == "3");
  const std::string run_dir =
      query_one(dir, "SELECT run_dir FROM runs WHERE id = '" + trials[0][2] + "'");
  CHECK(contains(test_support::read_file(run_dir + "/train.log"), "resumed from"));
  // Resuming a finished sweep is refused.
  auto again = fabric_exp(dir, "sweep --resume last");
  CHECK(again.exit_code == 1);
  CHECK(contains(again.output, "already ended (finished)"));
}

TEST_CASE("a trial that fails is recorded with its error and the sweep goes on",
          "[e2e][sweep][errors]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  {
    std::ofstream good(dir.str("good.csv"));
    good << "a,b,label\n";
    for (int i = 0; i < 64; ++i) good << i % 7 << "," << i % 5 << "," << (i % 7 > 3) << "\n";
  }
  std::ofstream(dir.str("bad.csv")) << "a,b,label\n1,2,0\n3,x,1\n";
  std::ofstream(dir.str("r.toml"))
      << "[run]\nmax_epochs = 1\n[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"sgd\"\n"
      << "[data]\nkind = \"csv\"\npath = \"good.csv\"\ntarget = \"label\"\n"
      << "[sweep.parameters]\n\"data.path\" = [" << q(dir.str("good.csv")) << ", "
      << q(dir.str("bad.csv")) << "]\n\"run.seed\" = [1, 2]\n";
  auto r = fabric_exp(dir, "sweep r.toml");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto trials = query(dir, "SELECT number, status, error FROM trials ORDER BY number");
  REQUIRE(trials.size() == 4);
  CHECK(trials[0][1] == "finished");
  CHECK(trials[1][1] == "finished");
  CHECK(trials[2][1] == "failed");
  CHECK(trials[3][1] == "failed");
  CHECK(contains(trials[2][2], "bad.csv' line 3 column 2: 'x' is not a number"));
  CHECK(contains(r.output, "trial 2 failed"));
  CHECK(contains(r.output, "done: 2 finished, 0 pruned, 2 failed"));
}

TEST_CASE("a SLURM sweep is a job array whose tasks write their own stores, collected after",
          "[e2e][sweep][slurm]") {
  TempDir dir;
  auto r = fabric_exp(dir, "sweep " + q(sweep_recipe("prune.toml")) +
                               " sweep.pruner=none run.max_steps=20 optimizer.lr=3e-3,1e-3 "
                               "--launcher slurm --parallel 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string id = newest_sweep(dir);
  const std::string dir_of_sweep = query_one(dir, "SELECT sweep_dir FROM sweeps");
  const std::string script = dir_of_sweep + "/slurm/array.sbatch";
  const std::string text = test_support::read_file(script);
  CHECK(contains(text, "#SBATCH --array=0-1%2"));
  CHECK(contains(text, "sweep trial " + id + " \"$SLURM_ARRAY_TASK_ID\""));
  CHECK(query_one(dir, "SELECT group_concat(status) FROM trials") == "queued,queued");
  // What each array task runs, as SLURM would run it (sbatch itself is not on this machine).
  for (int task = 0; task < 2; ++task) {
    auto t = test_support::run_command("SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " bash " +
                                       q(script) + " 2>&1");
    INFO(t.output);
    REQUIRE(t.exit_code == 0);
  }
  // The main store has heard nothing yet: every task wrote its own file.
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "0");
  auto c = fabric_exp(dir, "sweep collect " + id);
  INFO(c.output);
  REQUIRE(c.exit_code == 0);
  CHECK(contains(c.output, "2/2 trials ended"));
  CHECK(query_one(dir, "SELECT group_concat(status) FROM trials") == "finished,finished");
  CHECK(query_one(dir, "SELECT count(*) FROM runs WHERE status = 'finished'") == "2");
  CHECK(query_one(dir, "SELECT count(DISTINCT run_id) FROM metrics WHERE key = 'val/loss'") == "2");
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "finished");
  // Collecting twice changes nothing.
  REQUIRE(fabric_exp(dir, "sweep collect " + id).exit_code == 0);
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "2");
}

TEST_CASE("sweep errors: nothing to sweep, malformed multirun forms, dry runs create nothing",
          "[e2e][sweep][errors]") {
  TempDir dir;
  auto none = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")));
  CHECK(none.exit_code == 2);
  CHECK(contains(none.output, "nothing to sweep"));
  auto bad =
      fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) + " 'optimizer.lr=range(0)'");
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.output, "override 'optimizer.lr=range(0)'"));
  auto typo = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) + " optimizer.lrr=1,2");
  CHECK(typo.exit_code == 2);
  CHECK(contains(typo.output, "sweep parameter 'optimizer.lrr'"));
  CHECK(contains(typo.output, "did you mean 'lr'?"));
  auto dry = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                                 " 'run.seed=range(3)' optimizer.lr=1e-3,2e-3 --dry-run");
  INFO(dry.output);
  CHECK(dry.exit_code == 0);
  // Command-line order, the last parameter fastest.
  CHECK(contains(dry.output, "trial 1: run.seed=0 optimizer.lr=0.002"));
  CHECK(contains(dry.output, "trial 5: run.seed=2 optimizer.lr=0.002"));
  CHECK_FALSE(fs::exists(dir.str("store.db")));
  auto missing = fabric_exp(dir, "sweep --resume zzzz");
  CHECK(missing.exit_code == 1);
}

TEST_CASE("a sweep names parameters by their aliases as by their names", "[e2e][sweep][aliases]") {
  TempDir dir;
  // A multirun argument and a [sweep.parameters] key, each spelled by an alias.
  auto cli = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                                 " optimizer.learning_rate=1e-3,2e-3 --dry-run");
  INFO(cli.output);
  CHECK(cli.exit_code == 0);
  CHECK(contains(cli.output, "trial 1: optimizer.lr=0.002"));
  std::ofstream(dir.str("sweep.toml"))
      << "extends = " << q(e2e::recipe("quickstart.toml")) << "\n"
      << "[sweep.parameters]\n\"optimizer.learning_rate\" = [1e-3, 2e-3]\n"
      << "[sweep.parameters.run]\ngrad_accum = [1, 2]\n";
  auto table = fabric_exp(dir, "sweep sweep.toml --dry-run");
  INFO(table.output);
  CHECK(table.exit_code == 0);
  CHECK(contains(table.output, "optimizer.lr=0.002"));
  CHECK(contains(table.output, "run.accumulate_grad_batches=2"));
  CHECK_FALSE(contains(table.output, "learning_rate"));
  // Both spellings of one key are the same parameter declared twice.
  std::ofstream(dir.str("twice.toml"))
      << "extends = " << q(e2e::recipe("quickstart.toml")) << "\n"
      << "[sweep.parameters]\n\"optimizer.learning_rate\" = [1e-3]\n\"optimizer.lr\" = [2e-3]\n";
  auto twice = fabric_exp(dir, "sweep twice.toml --dry-run");
  CHECK(twice.exit_code == 2);
}

TEST_CASE("Ctrl-C right after trials start: they are re-queued, and the resume runs them all",
          "[e2e][sweep][resume][signal]") {
  TempDir dir;
  // SIGINT to the controller a moment after it starts its first trials, before they have
  // loaded LibTorch and installed their own handlers.
  const int stopped =
      e2e::signal_when(dir,
                       "sweep " + q(e2e::recipe("quickstart.toml")) +
                           " optimizer.lr=1e-3,2e-3,3e-3 run.max_epochs=1 --parallel 2",
                       "trial 1 starts", 0.05, SIGINT);
  INFO(test_support::read_file(dir.str("out.txt")));
  CHECK(stopped == 130);
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "stopped");
  CHECK(query_one(dir, "SELECT count(*) FROM trials WHERE status = 'failed'") == "0");

  auto r = fabric_exp(dir, "sweep --resume last");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "finished");
  auto trials = query(dir, "SELECT number, status FROM trials ORDER BY number");
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) CHECK(t[1] == "finished");
}

TEST_CASE(
    "a grid varies its last parameter fastest in declaration order; trials take the sweep's name",
    "[e2e][sweep][grid]") {
  TempDir dir;
  std::ofstream(dir.str("grid.toml")) << "extends = " << q(e2e::recipe("quickstart.toml")) << "\n"
                                      << "[sweep.parameters]\n"
                                      << "\"run.seed\" = [1, 2]\n"
                                      << "\"optimizer.lr\" = [0.001, 0.002]\n";
  auto dry = fabric_exp(dir, "sweep grid.toml --dry-run");
  INFO(dry.output);
  REQUIRE(dry.exit_code == 0);
  CHECK(contains(dry.output, "trial 1: run.seed=1 optimizer.lr=0.002"));
  CHECK(contains(dry.output, "trial 2: run.seed=2 optimizer.lr=0.001"));

  auto r = fabric_exp(dir, "sweep grid.toml --name mygrid --max-trials 1 run.max_steps=3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT name FROM runs") == "mygrid-t0");
  // The stored spec keeps the order: the trial ran the first point.
  CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'run.seed'") == "1");
  CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'optimizer.lr'") == "0.001");
}

TEST_CASE("a trial is never pruned at the validation after its last step",
          "[e2e][sweep][pruning]") {
  TempDir dir;
  // One validation per trial, and it is the last: the median pruner would stop the bad second
  // trial there, but it has trained to the end and is finished.
  auto r = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                               " optimizer.lr=3e-3,1e-6 run.max_epochs=1"
                               " ++sweep.objective=val/accuracy ++sweep.direction=maximize"
                               " ++sweep.pruner=median ++sweep.pruner_startup_trials=1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT count(*) FROM trials WHERE status = 'finished'") == "2");
  CHECK(query_one(dir, "SELECT count(*) FROM trials WHERE status = 'pruned'") == "0");
}

TEST_CASE(
    "three sweep workers share a TPE sweep with pruning through PostgreSQL, as SLURM runs "
    "them",
    "[e2e][sweep][postgresql][slurm]") {
  const std::string tpe =
      " sweep.method=tpe sweep.max_trials=9 sweep.startup_trials=3 "
      "'optimizer.lr=tag(log,interval(1e-7,1e-2))' --launcher slurm";
  {
    // With a SQLite store each task writes its own file: tpe cannot see the others' results.
    TempDir local;
    auto refused = fabric_exp(local, "sweep " + q(sweep_recipe("prune.toml")) + tpe);
    INFO(refused.output);
    CHECK(refused.exit_code != 0);
    CHECK(contains(refused.output, "give --store a postgresql:// URL"));
    CHECK_FALSE(fs::exists(local.str("store.db")));
  }
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  TempDir dir;
  e2e::use_store_backend(dir, "postgresql");
  // With a shared store the slurm launcher writes a job array of workers, each claiming trials.
  auto r = fabric_exp(dir, "sweep " + q(sweep_recipe("prune.toml")) + tpe + " --parallel 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string id = newest_sweep(dir);
  const std::string script =
      query_one(dir, "SELECT sweep_dir FROM sweeps") + "/slurm/workers.sbatch";
  const std::string text = test_support::read_file(script);
  CHECK(contains(text, "#SBATCH --array=0-2"));
  CHECK(contains(text, "sweep work " + id));
  CHECK(query_one(dir, "SELECT count(*) FROM trials") == "0");
  // The three array tasks at once, as SLURM would start them (sbatch is not on this machine).
  auto ran = test_support::run_at_once(
      3, [&](int t) { return "SLURM_ARRAY_TASK_ID=" + std::to_string(t) + " bash " + q(script); },
      dir, "w");
  std::string logs;
  for (int t = 0; t < 3; ++t) logs += test_support::read_file(dir.str("w" + std::to_string(t)));
  INFO(logs);
  REQUIRE(ran.exit_code == 0);
  // Exactly max_trials trials, each number once, each with its own run, every one ended.
  CHECK(query(dir,
              "SELECT count(*), count(DISTINCT number), min(number), max(number), "
              "count(DISTINCT run_id) FROM trials") ==
        std::vector<std::vector<std::string>>{{"9", "9", "0", "8", "9"}});
  CHECK(query_one(dir, "SELECT count(*) FROM trials WHERE status IN ('finished', 'pruned')") ==
        "9");
  CHECK(std::stoi(query_one(dir, "SELECT count(*) FROM trials WHERE status = 'pruned'")) > 0);
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "finished");
  CHECK(query_one(dir, "SELECT count(*) FROM runs WHERE status IN ('finished', 'pruned')") == "9");
  // Every worker took part; a late one finds nothing left and says so.
  for (int t = 0; t < 3; ++t)
    CHECK(contains(test_support::read_file(dir.str("w" + std::to_string(t))), "] trial "));
  auto late = fabric_exp(dir, "sweep work " + id);
  CHECK(late.exit_code == 0);
  CHECK(contains(late.output, "already ended (finished)"));
}

TEST_CASE(
    "a sweep worker whose host dies (kill -9 of worker and trial) loses the trial to failed "
    "once two heartbeats are missed; another worker finishes the sweep",
    "[e2e][sweep][postgresql][faults]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  TempDir dir;
  e2e::use_store_backend(dir, "postgresql");
  auto created = fabric_exp(dir, "sweep " + q(sweep_recipe("prune.toml")) +
                                     " sweep.pruner=none run.max_steps=1500 "
                                     "run.val_every_n_steps=750 --launcher slurm --parallel 1");
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  const std::string id = newest_sweep(dir);
  // Handed to workers that have not started: nobody works on it yet.
  CHECK(query_one(dir, "SELECT pid FROM sweeps") == "0");
  // Worker A takes trial 0, made long enough to be caught training.
  const std::string cmd = "cd " + q(dir.str()) +
                          " && FABRIC_EXP_STORE=" + q(e2e::store_location(dir)) + " " +
                          q(e2e::binary()) + " sweep work " + id + " > a.log 2>&1 &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(wait_for(dir,
                   "SELECT count(*) FROM metrics m JOIN trials t ON t.run_id = m.run_id "
                   "WHERE t.number = 0 AND m.key = 'train/loss'",
                   60));
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "running");
  // Its host dies: the worker and the trial's process go at once, neither can record anything.
  // The rows say they ran elsewhere, so only the missed heartbeats can tell.
  const std::string run_pid = query_one(dir, "SELECT pid FROM runs");
  const std::string worker_pid = test_support::run_command("ps -o ppid= -p " + run_pid).output;
  REQUIRE(::kill(std::stoi(worker_pid), SIGKILL) == 0);
  REQUIRE(::kill(std::stoi(run_pid), SIGKILL) == 0);
  // Their last beats are as old as a lost host's would be by now (kStaleSeconds).
  e2e::exec_sql(dir, "UPDATE runs SET host = 'lost-host', heartbeat_at = heartbeat_at - " +
                         std::to_string(int(fabric::store::kStaleSeconds)));
  e2e::exec_sql(dir, "UPDATE sweeps SET host = 'lost-host'");
  CHECK(query_one(dir, "SELECT status FROM trials WHERE number = 0") == "running");
  // Worker B runs the rest; trial 0's run is failed by whichever process looks once its last
  // heartbeat is two periods (20 s) old: B's claims, or any listing.
  auto b = fabric_exp(dir, "sweep work " + id);
  INFO(test_support::read_file(dir.str("a.log")) << b.output);
  CHECK(b.exit_code == 0);
  CHECK(e2e::wait_until(
      [&] {
        fabric_exp(dir, "sweeps");
        return query_one(dir, "SELECT status FROM trials WHERE number = 0") == "failed";
      },
      60));
  auto trials = query(dir, "SELECT number, status, error FROM trials ORDER BY number");
  REQUIRE(trials.size() == 4);
  CHECK(trials[0][1] == "failed");
  CHECK(contains(trials[0][2], "no heartbeat since"));
  CHECK_FALSE(contains(trials[0][2], "is gone"));
  for (int n = 1; n < 4; ++n) CHECK(trials[size_t(n)][1] == "finished");
  // Every trial has ended: the next worker to look finds nothing to run and ends the sweep.
  if (query_one(dir, "SELECT status FROM sweeps") != "finished") {
    auto c = fabric_exp(dir, "sweep work " + id);
    INFO(c.output);
    CHECK(c.exit_code == 0);
  }
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "finished");
}

TEST_CASE(
    "a sweep survives its PostgreSQL server restarting under it: exactly max_trials trials, "
    "every metric",
    "[e2e][sweep][postgresql][faults]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  TempDir dir;
  e2e::use_store_backend(dir, "postgresql");
  const std::string cmd =
      "cd " + q(dir.str()) + " && (FABRIC_EXP_STORE=" + q(e2e::store_location(dir)) + " " +
      q(e2e::binary()) + " sweep " + q(sweep_recipe("prune.toml")) +
      " sweep.pruner=none run.max_steps=1500 run.val_every_n_steps=750 --parallel 2"
      " > out.txt 2>&1; echo $? > rc.txt) &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(wait_for(dir, "SELECT count(*) FROM metrics WHERE key = 'train/loss'", 60));
  // pg_ctl stop -m fast: the controller's and both trials' connections are cut at once.
  test_support::restart_postgres();
  const bool ended_before_the_restart = fs::exists(dir.str("rc.txt"));
  REQUIRE(e2e::wait_until([&] { return fs::exists(dir.str("rc.txt")); }, 240));
  CHECK_FALSE(ended_before_the_restart);  // else this tested nothing
  INFO(test_support::read_file(dir.str("out.txt")));
  CHECK(test_support::read_file(dir.str("rc.txt")) == "0\n");
  CHECK(query(dir, "SELECT count(*), count(DISTINCT number), count(DISTINCT run_id) FROM trials") ==
        std::vector<std::vector<std::string>>{{"4", "4", "4"}});
  CHECK(query_one(dir, "SELECT count(*) FROM trials WHERE status = 'finished'") == "4");
  CHECK(query_one(dir, "SELECT count(*) FROM runs WHERE status = 'finished'") == "4");
  CHECK(query_one(dir, "SELECT status FROM sweeps") == "finished");
  // Every run: train/loss every 10 steps from the first to the last, two validations.
  for (const auto& run : query(dir,
                               "SELECT count(*), min(step), max(step) FROM metrics WHERE key = "
                               "'train/loss' GROUP BY run_id")) {
    CHECK(std::stoll(run[0]) == (std::stoll(run[2]) - std::stoll(run[1])) / 10 + 1);
    CHECK(std::stoll(run[2]) >= 1490);
  }
  CHECK(query(dir, "SELECT count(*) FROM metrics WHERE key = 'val/loss' GROUP BY run_id") ==
        std::vector<std::vector<std::string>>{{"2"}, {"2"}, {"2"}, {"2"}});
}
