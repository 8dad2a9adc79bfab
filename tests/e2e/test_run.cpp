// `fabric-exp run` as users run it: the real binary, real processes, a real SQLite store.
// Models from Python, text and token data, loggers from a recipe, paths of extended recipes, and
// a run that outlives its PostgreSQL server.
// LibTorch's logging before Catch2: Debian's 1.13 logs through glog, whose CHECK macro must give
// way to Catch2's, not replace it.
#include <c10/util/Logging.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "e2e/resume_helpers.hpp"
#include "e2e/run_helpers.hpp"
#include "fabric/optim/multi_tensor_adam.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;
using namespace e2e::resume;

TEST_CASE("quickstart trains, records the run and its checkpoint", "[e2e][run]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  auto r = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.output, "val/accuracy"));
  auto run = query(dir, "SELECT id, status, exit_code, seed, world_size, run_dir FROM runs");
  REQUIRE(run.size() == 1);
  CHECK(run[0][1] == "finished");
  CHECK(run[0][2] == "0");
  CHECK(run[0][3] == "42");
  const std::string id = run[0][0], run_dir = run[0][5];
  CHECK(fs::exists(run_dir + "/recipe.toml"));
  CHECK(fs::exists(run_dir + "/train.log"));
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'test/accuracy'")) >
        0.8);
  CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'optimizer.lr'") == "0.003");
  // System metrics: a run shorter than the interval has the sample taken when training ends.
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'sys/rss_mib'")) >
        10);
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'sys/cpu_percent'")) >
        0);
  // The artifact is registered with the sha256 of the file as it is on disk.
  auto art = query(dir, "SELECT path, sha256, size FROM artifacts");
  REQUIRE(art.size() == 1);
  CHECK(art[0][0] == run_dir + "/checkpoints/last.ckpt");
  auto sha = test_support::run_command("sha256sum " + q(art[0][0]));
  CHECK(sha.output.substr(0, 64) == art[0][1]);
  CHECK(std::stoll(art[0][2]) == int64_t(fs::file_size(art[0][0])));
}

TEST_CASE("a TorchScript model exported from Python trains in C++ under its Python names",
          "[e2e][run][torchscript]") {
  auto python = test_support::python_with_torch();
  if (!python) FABRIC_SKIP("no Python with torch");
  TempDir dir;
  auto exported = test_support::run_command(
      *python + " " + q(std::string(FABRIC_SOURCE_DIR) + "/recipes/torchscript_export.py") + " " +
      q(dir.str("mlp.pt")));
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  auto r = fabric_exp(
      dir, "run " + q(e2e::recipe("torchscript.toml")) + " model.path=" + q(dir.str("mlp.pt")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'val/accuracy'")) >
        0.8);
  auto weights =
      checkpoint_model_keys(query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt");
  CHECK(weights.count("fc1.weight") == 1);
  CHECK(weights.count("norm.bias") == 1);
  CHECK(weights.size() == 6);
}

TEST_CASE("char_lm trains a transformer on a real text and reports perplexity", "[e2e][run][lm]") {
  if (!fs::exists("/usr/share/common-licenses/GPL-3")) FABRIC_SKIP("no GPL-3 text");
  TempDir dir;
  auto r = fabric_exp(
      dir, "run " + q(e2e::recipe("char_lm.toml")) + " run.max_steps=40 run.val_every_n_steps=40");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const double ppl =
      std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'val/perplexity'"));
  CHECK(ppl > 1.0);
  CHECK(ppl < 40.0);  // uniform over bytes would be 256
  CHECK(query_one(dir, "SELECT count(*) FROM metric_summary WHERE key = 'test/perplexity'") == "1");
  CHECK(query_one(dir,
                  "SELECT count(*) FROM metric_summary WHERE key = 'throughput/tokens_per_sec'") ==
        "1");
}

TEST_CASE("a tensors file Python saved as an OrderedDict trains", "[e2e][run][python]") {
  // What torch.save(model.state_dict())-style code writes: collections.OrderedDict, which
  // LibTorch's unpickler alone reads as None.
  auto python = test_support::python_with_torch();
  if (!python) FABRIC_SKIP("no Python with torch");
  TempDir dir;
  auto made = test_support::run_command(
      *python + " -c " +
      q("import collections, torch; torch.manual_seed(0); x = torch.randn(96, 4); "
        "torch.save(collections.OrderedDict(data=x, target=(x[:, 0] > 0).long()), '" +
        dir.str("t.pt") + "')"));
  INFO(made.output);
  REQUIRE(made.exit_code == 0);
  std::ofstream(dir.str("r.toml"))
      << "[run]\nmax_epochs = 2\n[model]\nkind = \"mlp\"\nhidden = [8]\n[optimizer]\nkind = "
         "\"adam\"\n[data]\nkind = "
         "\"tensors\"\npath = \""
      << dir.str("t.pt") << "\"\nbatch_size = 16\n";
  auto r = fabric_exp(dir, "run " + q(dir.str("r.toml")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
}

TEST_CASE("token tensors from Python train the benchmark's gpt, with one step profiled",
          "[e2e][run][lm][profile]") {
  auto python = test_support::python_with_torch();
  if (!python) FABRIC_SKIP("no Python with torch");
  TempDir dir;
  auto made = test_support::run_command(
      *python + " " + q(std::string(FABRIC_SOURCE_DIR) + "/tools/bench/python_loop.py") +
      " --make-tokens " + q(dir.str("tokens.pt")) + " --context 16 --samples 96");
  INFO(made.output);
  REQUIRE(made.exit_code == 0);
  const std::string gpt = q(std::string(FABRIC_SOURCE_DIR) + "/tools/bench/workloads/gpt.toml") +
                          " data.path=" + q(dir.str("tokens.pt")) +
                          " model.layers=1 model.width=32 model.heads=2 model.context=16"
                          " data.batch_size=8 run.max_steps=6";
  auto r = fabric_exp(dir, "run " + gpt + " run.profile_step=3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT count(*) FROM metrics WHERE key = 'train/loss'") == "6");
  // Random bytes: the loss starts near ln 256 = 5.545 and stays there.
  const double loss = std::stod(query_one(dir,
                                          "SELECT last FROM metric_summary WHERE key = "
                                          "'train/loss'"));
  CHECK(loss == Approx(5.545).margin(0.1));
  CHECK(contains(r.output, "profile of step 3:"));
  CHECK(contains(r.output, "aten::mm"));
  CHECK(contains(r.output, "(outside operators: loop, data, logging)"));
  const std::string trace =
      test_support::read_file(query_one(dir, "SELECT run_dir FROM runs") + "/profile.json");
  CHECK(trace.rfind("[", 0) == 0);
  CHECK(contains(trace, "\"name\": \"aten::mm\""));

  SECTION("the fused Adam kernel trains where LibTorch has it and is refused by name elsewhere") {
    auto fused = fabric_exp(dir, "run " + gpt + " optimizer.kernel=fused");
    INFO(fused.output);
    if (fabric::optim::has_fused_adam(c10::kCPU)) {
      CHECK(fused.exit_code == 0);
    } else {
      CHECK(fused.exit_code == 1);
      CHECK(contains(fused.output, "[optimizer] kernel: the fused Adam kernel is not in LibTorch"));
    }
  }
  SECTION("the foreach kernel trains to the per-tensor kernel's losses") {
    auto foreach = fabric_exp(dir, "run " + gpt + " optimizer.kernel=foreach");
    auto per_tensor = fabric_exp(dir, "run " + gpt + " optimizer.kernel=per_tensor");
    REQUIRE(foreach.exit_code == 0);
    REQUIRE(per_tensor.exit_code == 0);
    auto losses = query(dir,
                        "SELECT r.overrides, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
                        "WHERE m.key = 'train/loss' AND m.step = 6 AND r.overrides LIKE "
                        "'%kernel%' ORDER BY r.overrides");
    REQUIRE(losses.size() == 2);
    CHECK(std::stod(losses[0][1]) == Approx(std::stod(losses[1][1])).epsilon(1e-5));
  }
}

TEST_CASE("csv and tensorboard loggers, lr_monitor and early stopping from a recipe",
          "[e2e][run][loggers]") {
  TempDir dir;
  std::ofstream(dir.str("r.toml"))
      << "extends = \"" << e2e::recipe("quickstart.toml") << "\"\n"
      << "[run]\nmax_epochs = 30\nlog_every_n_steps = 5\n"
      << "[scheduler]\nkind = \"cosine\"\n"
      << "[[callbacks]]\nkind = \"lr_monitor\"\n"
      << "[[callbacks]]\nkind = \"early_stopping\"\nmonitor = \"val/loss\"\npatience = 1\n"
      << "[[loggers]]\nkind = \"csv\"\n[[loggers]]\nkind = \"tensorboard\"\n";
  auto r = fabric_exp(dir, "run r.toml");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.output, "stopped: early stopping: val/loss did not improve"));
  const std::string run_dir = query_one(dir, "SELECT run_dir FROM runs");
  const std::string csv = test_support::read_file(run_dir + "/csv/metrics.csv");
  CHECK(contains(csv, "lr"));
  CHECK(contains(csv, "val/loss"));
  bool events = false;
  for (const auto& e : fs::directory_iterator(run_dir + "/tensorboard"))
    events = events || e.path().filename().string().rfind("events.out.tfevents", 0) == 0;
  CHECK(events);
  // The cosine schedule's rates reached the store through lr_monitor, falling.
  auto lrs = query(dir, "SELECT value FROM metrics WHERE key = 'lr' ORDER BY step");
  REQUIRE(lrs.size() > 2);
  CHECK(std::stod(lrs.back()[0]) < std::stod(lrs.front()[0]));
  CHECK(std::stoi(query_one(dir, "SELECT max(value) FROM metrics WHERE key = 'epoch'")) < 29);
}

TEST_CASE("a path in an extended recipe is relative to the file that wrote it",
          "[e2e][run][paths]") {
  TempDir dir;
  fs::create_directories(dir.str("base"));
  fs::create_directories(dir.str("exp"));
  std::ofstream(dir.str("base/d.csv")) << "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n";
  std::ofstream(dir.str("base/base.toml"))
      << "[run]\nmax_epochs = 1\n[model]\nkind = \"mlp\"\nhidden = [4]\n[optimizer]\nkind = "
         "\"sgd\"\n"
      << "[data]\nkind = \"csv\"\npath = \"d.csv\"\ntarget = \"label\"\nbatch_size = 2\n";
  std::ofstream(dir.str("exp/child.toml"))
      << "extends = \"../base/base.toml\"\n[optimizer]\nlr = 0.1\n";
  auto r = fabric_exp(dir, "run exp/child.toml");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'data.path'") ==
        dir.str("base/d.csv"));
}

TEST_CASE(
    "a run survives its PostgreSQL server restarting under it, and a listing after a long "
    "outage, losing no metric",
    "[e2e][run][postgresql]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  TempDir dir;
  e2e::use_store_backend(dir, "postgresql");
  const std::string cmd = "cd " + q(dir.str()) +
                          " && (FABRIC_EXP_STORE=" + q(e2e::store_location(dir)) + " " +
                          q(e2e::binary()) + " run " + q(e2e::recipe("quickstart.toml")) +
                          kLongRun + " > out.txt 2>&1; echo $? > rc.txt) &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(e2e::wait_for(dir, "SELECT count(*) FROM metrics WHERE key = 'train/loss'", 60));
  // The training process, its metric writer's thread included, holds one connection.
  CHECK(query_one(dir,
                  "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND application_name = 'fabric-exp' AND pid <> pg_backend_pid()") == "1");
  // pg_ctl stop -m fast: every connection is cut, as by a server restart or a failover.
  // Down for 25 s, longer than two heartbeats: the run's last beat is old when it comes back,
  // and a listing (which reaps runs whose writers are gone) must judge this live process by
  // itself, not by that age.
  test_support::restart_postgres(25);
  const bool ended_before_the_restart = fs::exists(dir.str("rc.txt"));
  auto listing = e2e::fabric_exp(dir, "runs --columns id,status");
  INFO(listing.output);
  CHECK(listing.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM runs") != "failed");
  REQUIRE(e2e::wait_until([&] { return fs::exists(dir.str("rc.txt")); }, 180));
  CHECK_FALSE(ended_before_the_restart);  // else this tested nothing
  INFO(test_support::read_file(dir.str("out.txt")));
  CHECK(test_support::read_file(dir.str("rc.txt")) == "0\n");
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
  // train/loss every 10 steps from the first to the last, none missing; one val/loss per epoch.
  auto span =
      query(dir, "SELECT count(*), min(step), max(step) FROM metrics WHERE key = 'train/loss'");
  REQUIRE(span.size() == 1);
  CHECK(std::stoll(span[0][0]) == (std::stoll(span[0][2]) - std::stoll(span[0][1])) / 10 + 1);
  CHECK(std::stoll(span[0][2]) > 3000);
  CHECK(query_one(dir, "SELECT count(*) FROM metrics WHERE key = 'val/loss'") == "3");
}
