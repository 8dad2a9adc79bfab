// The command line as a new user meets it: options and positional arguments, versions, unknown
// commands, exit statuses, output errors, and what is echoed back from files and arguments.
#include <catch2/catch.hpp>

#if FABRIC_WITH_PNG
#include <cairo.h>
#endif

#include <filesystem>
#include <fstream>

#include "e2e/run_helpers.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using test_support::TempDir;

namespace {
const std::string kShort = " run.max_steps=5 data.samples=512";

bool has_control_bytes(const std::string& text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  return false;
}
}  // namespace

TEST_CASE("an option takes its own value only and never swallows positional arguments",
          "[e2e][cli]") {
  TempDir dir;
  SECTION("--tag before an override") {
    auto r = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " --tag a=1" + kShort +
                                 " optimizer.lr=1e-3");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'optimizer.lr'") == "0.001");
    auto tags = query(dir, "SELECT key, value FROM tags ORDER BY key");
    REQUIRE(tags.size() == 1);
    CHECK(tags[0] == std::vector<std::string>{"a", "1"});
  }
  SECTION("--tag before the recipe, repeated for several tags") {
    auto r = fabric_exp(
        dir, "run --tag team=vision --tag b=2 " + q(e2e::recipe("quickstart.toml")) + kShort);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(query_one(dir, "SELECT count(*) FROM tags") == "2");
    CHECK(query_one(dir, "SELECT value FROM tags WHERE key = 'team'") == "vision");
  }
}

TEST_CASE("--version prints the version; an unknown command names the closest one",
          "[e2e][cli][errors]") {
  TempDir dir;
  auto v = fabric_exp(dir, "--version");
  CHECK(v.exit_code == 0);
  CHECK(contains(v.output, "fabric-exp 0."));
  auto bogus = fabric_exp(dir, "verison");
  INFO(bogus.output);
  CHECK(bogus.exit_code == 2);
  CHECK(contains(bogus.output, "unknown command 'verison'"));
  CHECK(contains(bogus.output, "did you mean 'version'?"));
  CHECK_FALSE(contains(bogus.output, "A subcommand is required"));
}

TEST_CASE("usage errors exit 2, config diff exits 1 when recipes differ, as diff does",
          "[e2e][cli][errors]") {
  TempDir dir;
  auto tag = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " --tag novalue");
  INFO(tag.output);
  CHECK(tag.exit_code == 2);
  CHECK_FALSE(fs::exists(dir.str("store.db")));  // an error creates nothing

  auto same = fabric_exp(dir, "config diff " + q(e2e::recipe("quickstart.toml")) + " " +
                                  q(e2e::recipe("quickstart.toml")));
  CHECK(same.exit_code == 0);
  auto differ = fabric_exp(dir, "config diff " + q(e2e::recipe("quickstart.toml")) + " " +
                                    q(e2e::recipe("fashion_mnist_mlp.toml")));
  CHECK(differ.exit_code == 1);
  CHECK(contains(differ.output, "model.kind") == false);  // both are mlps...
  CHECK(contains(differ.output, "data.kind: synthetic -> fashion_mnist"));

  SECTION("--max-trials gives random sweeps their budget") {
    auto r = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                                 " ++sweep.method=random optimizer.lr='interval(1e-4,1e-2)'"
                                 " --max-trials 2 --dry-run");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "trial 1:"));
    CHECK_FALSE(contains(r.output, "trial 2:"));
  }
}

TEST_CASE("a recipe error creates no store; a broken pipe does not stop a run",
          "[e2e][cli][errors]") {
  TempDir dir;
  auto bad = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " optimizer.lrr=1");
  INFO(bad.output);
  CHECK(bad.exit_code == 2);
  CHECK_FALSE(fs::exists(dir.str("store.db")));
  CHECK_FALSE(fs::exists(dir.str("runs")));
  // Suggest only what works: the declared key, not `+optimizer.lrr=1`.
  CHECK(contains(bad.output, "did you mean 'optimizer.lr'?"));
  CHECK_FALSE(contains(bad.output, "+optimizer.lrr"));

  // The reader goes away after one line; the run still finishes and is recorded so.
  auto piped = test_support::run_command(
      "bash -c " + q("cd " + q(dir.str()) + " && FABRIC_EXP_STORE=" + q(dir.str("store.db")) + " " +
                     q(e2e::binary()) + " run " + q(e2e::recipe("quickstart.toml")) +
                     " run.max_epochs=2 | head -n 1; echo \"status=${PIPESTATUS[0]}\""));
  INFO(piped.output);
  CHECK(contains(piped.output, "status=0"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
}

TEST_CASE("+key on a key already set says where it is set", "[e2e][cli][errors]") {
  TempDir dir;
  auto r = fabric_exp(dir, "validate " + q(e2e::recipe("fashion_mnist_cnn.toml")) + " +run.seed=7");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "already set at "));
  CHECK(contains(r.output, ".toml:"));
  CHECK(contains(r.output, "to change it, use run.seed=7"));
}

TEST_CASE("aliases are names: a recipe and an override spelled with an alias run as canonical",
          "[e2e][cli][aliases]") {
  TempDir dir;
  std::ofstream(dir.str("alias.toml")) << "extends = " << q(e2e::recipe("quickstart.toml"))
                                       << "\n[optimizer]\nlearning_rate = 2e-3\n";
  auto shown = fabric_exp(dir, "config show alias.toml");
  INFO(shown.output);
  REQUIRE(shown.exit_code == 0);
  CHECK(contains(shown.output, "lr = 0.002"));
  CHECK_FALSE(contains(shown.output, "learning_rate"));
  auto r = fabric_exp(dir, "run alias.toml" + kShort + " optimizer.learning_rate=1e-3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(query_one(dir, "SELECT value FROM params WHERE key = 'optimizer.lr'") == "0.001");
  CHECK(query_one(dir, "SELECT count(*) FROM params WHERE key = 'optimizer.learning_rate'") == "0");
}

TEST_CASE("16-true under accelerator auto is refused at validation on a machine without a GPU",
          "[e2e][cli][errors]") {
  TempDir dir;
  auto r = fabric_exp(
      dir, "validate " + q(e2e::recipe("quickstart.toml")) + " fabric.precision=16-true");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "needs a CUDA device"));
  CHECK_FALSE(contains(r.output, "internal error"));
}

TEST_CASE("a run name is a name: anything that would leave the runs folder is refused",
          "[e2e][cli][errors][paths]") {
  TempDir dir;
  for (const std::string name : {"../../evil", "/tmp/evil", "..", "a/b"}) {
    INFO(name);
    auto r = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                                 " run.name=" + q("\"" + name + "\"") + kShort);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.output, "'run.name'"));
  }
  CHECK_FALSE(fs::exists(dir.str("store.db")));
  CHECK_FALSE(fs::exists(fs::path(dir.str()).parent_path() / "evil-"));
  auto sweep = fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) +
                                   " optimizer.lr=1e-3,2e-3 --name ../escape" + kShort);
  INFO(sweep.output);
  CHECK(sweep.exit_code == 2);
  CHECK(contains(sweep.output, "cannot name a folder"));
}

TEST_CASE("no control character from a file or an argument reaches the terminal",
          "[e2e][cli][errors]") {
  TempDir dir;
  auto binary = fabric_exp(dir, "run /bin/ls");
  INFO(binary.output);
  CHECK(binary.exit_code == 2);
  CHECK(contains(binary.output, "not a text file"));
  CHECK_FALSE(has_control_bytes(binary.output));

  std::ofstream(dir.str("esc.toml")) << "[run]\nmax_epochs = 1\nname = \"x\x1b[2Jy\"\n"
                                     << "[model]\nkind = \"mlp\x1b]0;pwned\x07\"\n";
  auto esc = fabric_exp(dir, "validate esc.toml");
  INFO(esc.output);
  CHECK(esc.exit_code == 2);
  CHECK(contains(esc.output, "\\x1b"));
  CHECK_FALSE(has_control_bytes(esc.output));
}

TEST_CASE("a read-only mount: runs there fail with an error naming the path, its store is browsed",
          "[e2e][cli][errors][readonly]") {
  TempDir dir;
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + kShort).exit_code == 0);
  fs::create_directories(dir.str("ro"));
  fs::copy_file(dir.str("store.db"), dir.str("archive.db"));
  auto mounted = test_support::run_command("mount --bind " + q(dir.str()) + " " + q(dir.str("ro")) +
                                           " && mount -o remount,bind,ro " + q(dir.str("ro")));
  if (mounted.exit_code != 0) FABRIC_SKIP("cannot make a read-only bind mount here (not root)");
  struct Unmount {
    std::string path;
    ~Unmount() { test_support::run_command("umount " + q(path)); }
  } unmount{dir.str("ro")};

  auto r = fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                               " run.output_dir=" + q(dir.str("ro/runs")) + " --store " +
                               q(dir.str("other.db")) + kShort);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "fabric-exp: error:"));
  CHECK(contains(r.output, dir.str("ro/runs")));
  CHECK_FALSE(contains(r.output, "internal error"));

  auto listed = fabric_exp(dir, "runs --format csv --store " + q(dir.str("ro/archive.db")));
  INFO(listed.output);
  CHECK(listed.exit_code == 0);
  CHECK(contains(listed.output, ",finished"));
  auto shown = fabric_exp(dir, "show last --store " + q(dir.str("ro/archive.db")));
  INFO(shown.output);
  CHECK(shown.exit_code == 0);
  // Listing sweeps records nothing there either (no stale run or trial is reaped).
  auto sweeps = fabric_exp(dir, "sweeps --store " + q(dir.str("ro/archive.db")));
  INFO(sweeps.output);
  CHECK(sweeps.exit_code == 0);
}

TEST_CASE("shell completion comes from the command definitions", "[e2e][cli][completion]") {
  TempDir dir;
  auto bash = fabric_exp(dir, "completion bash > " + q(dir.str("fabric-exp.bash")));
  REQUIRE(bash.exit_code == 0);
  // Complete `fabric-exp sweep sh` and `fabric-exp run --ta` in a real bash.
  auto complete = [&](const std::string& words) {
    return test_support::run_command(
        "bash -c " +
        q("source " + q(dir.str("fabric-exp.bash")) + "; COMP_WORDS=(" + words +
          "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _fabric_exp; echo \"${COMPREPLY[*]}\""));
  };
  auto sweep = complete("fabric-exp sweep sh");
  INFO(sweep.output);
  CHECK(contains(sweep.output, "show"));
  auto run = complete("fabric-exp run --ta");
  INFO(run.output);
  CHECK(contains(run.output, "--tag"));
  auto top = complete("fabric-exp ver");
  CHECK(contains(top.output, "version"));
  auto zsh = fabric_exp(dir, "completion zsh");
  CHECK(contains(zsh.output, "bashcompinit"));
  auto fish = fabric_exp(dir, "completion fish");
  CHECK(contains(fish.output, "complete -c fabric-exp -f -n '__fish_use_subcommand' -a runs"));
  CHECK(contains(fish.output, "-n '__fish_seen_subcommand_from run' -l resume"));
  CHECK(fabric_exp(dir, "completion tcsh").exit_code == 2);
}

TEST_CASE("output people read: dates, units, tags and the main metric; JSON for programs",
          "[e2e][cli][output]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " --tag team=vision" + kShort)
          .exit_code == 0);
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + kShort + " optimizer.lr=1e-3")
          .exit_code == 0);
  auto runs = fabric_exp(dir, "runs");
  INFO(runs.output);
  CHECK(contains(runs.output, "tags"));
  CHECK(contains(runs.output, "team=vision"));
  CHECK(contains(runs.output, "val/accuracy 0."));  // the run's headline number
  CHECK(contains(runs.output, " s "));              // a duration with its unit
  auto metrics = fabric_exp(dir, "metrics last val/loss --format csv");
  INFO(metrics.output);
  CHECK(contains(metrics.output, ",20"));  // wall_time as a date (this century), not 1.79e+09
  CHECK_FALSE(contains(metrics.output, "e+09"));
  // JSON that Python's json module reads, with numbers as numbers.
  auto check_json = [&](const std::string& args, const std::string& python_check) {
    auto out = fabric_exp(dir, args + " > " + q(dir.str("out.json")));
    REQUIRE(out.exit_code == 0);
    auto py = test_support::run_command("python3 -c " + q("import json; d = json.load(open(" +
                                                          q(dir.str("out.json")) + ")); assert " +
                                                          python_check + ", d"));
    INFO(args << "\n" << test_support::read_file(dir.str("out.json")) << py.output);
    CHECK(py.exit_code == 0);
  };
  check_json("show last --format json",
             "d['status'] == 'finished' and d['seed'] == 42 and "
             "isinstance(d['metrics']['val/accuracy']['last'], float)");
  std::string ids;
  for (const auto& row : query(dir, "SELECT id FROM runs")) ids += row[0] + " ";
  check_json("compare " + ids + " --format json",
             "d['params'][0]['param'] == 'optimizer.lr' and len(d['metrics']) > 2");
}

TEST_CASE("on a terminal the progress bar has colour and leaves no copy above validation lines",
          "[e2e][cli][output][tty]") {
  TempDir dir;
  if (test_support::run_command("command -v script").exit_code != 0)
    FABRIC_SKIP("script(1) is not installed (bsdutils)");
  // script(1) gives the run a pseudo-terminal and records what the terminal received.
  const std::string cmd = "cd " + q(dir.str()) + " && FABRIC_EXP_STORE=" + q(dir.str("store.db")) +
                          " TERM=xterm " + q(e2e::binary()) + " run " +
                          q(e2e::recipe("quickstart.toml")) +
                          " data.samples=40000 run.max_epochs=3";
  auto r = test_support::run_command("script -qec " + q(cmd) + " " + q(dir.str("tty.txt")));
  const std::string screen = test_support::read_file(dir.str("tty.txt"));
  INFO(screen);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(screen, "\x1b[32m#"));  // the done part of the bar in green
  // A bar line ended by a newline stays on the screen: only the last one may.
  size_t kept = 0;
  for (size_t at = screen.find(" eta "); at != std::string::npos;
       at = screen.find(" eta ", at + 1)) {
    const size_t end = screen.find_first_of("\r\n", at);
    if (end != std::string::npos && screen.compare(end, 2, "\r\n") == 0 &&
        screen.find(" eta ", at + 1) < screen.find("metric", at))
      ++kept;
  }
  CHECK(kept == 0);
}

TEST_CASE("a store URL that cannot be used says why with its password hidden; nothing is created",
          "[e2e][cli][store]") {
  TempDir dir;
  // Nothing listens on port 1: the connection is refused at once.
  const std::string url = "'postgresql://bob:hunter2@127.0.0.1:1/runs'";
  for (const std::string& command :
       {"run " + q(e2e::recipe("quickstart.toml")), std::string("runs"), std::string("ui"),
        "sweep " + q(e2e::recipe("quickstart.toml")) + " optimizer.lr=0.1,0.2"}) {
    auto r = fabric_exp(dir, command + " --store " + url);
    INFO(command << "\n" << r.output);
    CHECK(r.exit_code == 1);
    CHECK(
        contains(r.output, "cannot connect to run store 'postgresql://bob:***@127.0.0.1:1/runs'"));
    CHECK_FALSE(contains(r.output, "hunter2"));
  }
  auto in_query =
      fabric_exp(dir, "runs --store 'postgresql://bob@127.0.0.1:1/runs?password=hunter2'");
  CHECK(contains(in_query.output, "password=***"));
  CHECK_FALSE(contains(in_query.output, "hunter2"));
  auto mlflow_form = fabric_exp(dir, "runs --store sqlite:///runs.db");
  CHECK(mlflow_form.exit_code == 1);
  CHECK(contains(mlflow_form.output, "give the SQLite file's path itself"));
  auto other = fabric_exp(dir, "runs --store mysql://bob:hunter2@host/runs");
  CHECK(other.exit_code == 1);
  CHECK(contains(other.output, "unknown store URL scheme 'mysql'"));
  CHECK_FALSE(contains(other.output, "hunter2"));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("config show prints tables in a recipe's order, [run] first", "[e2e][cli][output]") {
  TempDir dir;
  auto r = fabric_exp(dir, "config show " + q(e2e::recipe("quickstart.toml")));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto run = r.output.find("[run]"), model = r.output.find("[model]"),
             optimizer = r.output.find("[optimizer]"), data = r.output.find("[data]"),
             metrics = r.output.find("[[metrics]]");
  CHECK(run < model);
  CHECK(model < optimizer);
  CHECK(optimizer < data);
  CHECK(data < metrics);
}

TEST_CASE(
    "store copy moves runs and sweeps between SQLite and PostgreSQL; twice copies nothing "
    "twice",
    "[e2e][cli][store][postgresql]") {
  if (!test_support::postgres_unavailable().empty())
    FABRIC_SKIP("PostgreSQL: " + test_support::postgres_unavailable());
  TempDir dir;  // its store: dir/store.db (SQLite)
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " --tag team=vision" + kShort)
          .exit_code == 0);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + kShort).exit_code == 0);
  REQUIRE(fabric_exp(dir, "sweep " + q(e2e::recipe("quickstart.toml")) + kShort +
                              " optimizer.lr=1e-3,2e-3")
              .exit_code == 0);
  const std::string team = test_support::fresh_postgres_database();
  auto copied = fabric_exp(dir, "store copy store.db " + q(team));
  INFO(copied.output);
  REQUIRE(copied.exit_code == 0);
  CHECK(contains(copied.output, "copied 4 run(s) ("));
  CHECK(contains(copied.output, "and 1 sweep(s) into postgresql://"));
  auto again = fabric_exp(dir, "store copy store.db " + q(team));
  INFO(again.output);
  CHECK(contains(again.output, "copied 0 run(s) (0 metric points) and 0 sweep(s)"));
  CHECK(contains(again.output, "4 run(s) and 1 sweep(s) were there already"));
  // The team's store answers as the file did.
  const std::string columns = " --format csv --columns id,status,tags,metrics.val/loss.min";
  auto here = fabric_exp(dir, "runs" + columns);
  auto there = fabric_exp(dir, "runs --store " + q(team) + columns);
  CHECK(here.output == there.output);
  auto sweep_here = fabric_exp(dir, "sweep show last --format csv");
  auto sweep_there = fabric_exp(dir, "sweep show last --format csv --store " + q(team));
  CHECK(sweep_here.output == sweep_there.output);
  // And back, only what a filter selects, into a new file.
  auto back =
      fabric_exp(dir, "store copy " + q(team) + " back.db --where \"tags.team = 'vision'\"");
  INFO(back.output);
  REQUIRE(back.exit_code == 0);
  CHECK(contains(back.output, "copied 1 run(s) ("));
  CHECK(contains(back.output, "and 0 sweep(s) into back.db"));
  const std::string id = query_one(dir, "SELECT run_id FROM tags WHERE value = 'vision'");
  const std::string metrics = " --format csv";
  CHECK(fabric_exp(dir, "metrics " + id + " val/loss train/loss" + metrics).output ==
        fabric_exp(dir, "metrics " + id + " val/loss train/loss --store back.db" + metrics).output);
  // What cannot be copied says why, and writes nothing.
  auto same = fabric_exp(dir, "store copy store.db ./store.db");
  CHECK(same.exit_code == 1);
  CHECK(contains(same.output, "the source and the destination are the same store"));
  auto missing = fabric_exp(dir, "store copy nope.db other.db");
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.output, "no run store at 'nope.db'"));
  CHECK_FALSE(fs::exists(dir.str("other.db")));
  auto bad_filter = fabric_exp(dir, "store copy store.db other.db --where 'bogus = 1'");
  CHECK(bad_filter.exit_code == 2);
  CHECK_FALSE(fs::exists(dir.str("other.db")));
}
