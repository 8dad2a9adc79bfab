// `fabric-exp run` as users run it: the real binary, real processes, a real SQLite store.
// LibTorch's logging before Catch2: Debian's 1.13 logs through glog, whose CHECK macro must give
// way to Catch2's, not replace it.
#include <c10/util/Logging.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "e2e/run_helpers.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/optim/multi_tensor_adam.hpp"
#include "store/sqlite.hpp"
#include "support/postgres_server.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;

namespace {

/// The model tensors of a checkpoint, by name.
std::map<std::string, at::Tensor> model_tensors(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  auto dict = fabric::read_checkpoint_file(path).toGenericDict();
  for (const auto& item : dict.at(c10::IValue("model")).toGenericDict()) {
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

/// The two runs' last checkpoints hold bit-identical model tensors.
void require_same_weights(const TempDir& dir, const std::string& a_id, const std::string& b_id) {
  auto last = [&](const std::string& id) {
    return model_tensors(query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(id)) +
                         "/checkpoints/last.ckpt");
  };
  auto a = last(a_id), b = last(b_id);
  REQUIRE(a.size() == b.size());
  for (const auto& [k, t] : a) {
    INFO(k);
    CHECK(at::equal(t, b.at(k)));
  }
}
}  // namespace

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

TEST_CASE("devices = 2 with strategy = ddp trains on two processes with one command",
          "[e2e][run][ddp]") {
  TempDir dir;
  auto r = fabric_exp(
      dir, "run " + q(e2e::recipe("quickstart.toml")) +
               " fabric.accelerator=cpu fabric.strategy=ddp fabric.devices=2 run.max_epochs=2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.output, "(ddp, 2 processes"));
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "1");  // one run, written by rank 0 only
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
  // Validation sums over both shards: every held-out sample counted once.
  CHECK(std::stod(query_one(dir, "SELECT last FROM metric_summary WHERE key = 'val/accuracy'")) >
        0.7);
  // Two processes each take half of every epoch: 4096*0.9 samples / (64 * 2) = 29 steps.
  CHECK(query_one(dir, "SELECT max(step) FROM metrics WHERE key = 'val/loss'") == "58");
}

namespace {
/// A run long enough (~3 s on 2 cores) to be interrupted in the middle.
const std::string kLongRun =
    " data.samples=80000 run.max_epochs=3 model.hidden=[256,256] model.dropout=0.1 data.workers=2";
/// The same on two processes (ddp, fsdp), where each step costs more: still several seconds
/// past the signal's 0.8 s, with a third of the samples.
const std::string kLongRunTwoProcesses =
    " data.samples=24000 run.max_epochs=3 model.hidden=[256,256] model.dropout=0.1 data.workers=2";

/// Starts a run, waits until it has logged some steps, sends `sig`, and returns its exit code.
int interrupt_run(const TempDir& dir, const std::string& args, int sig) {
  return e2e::signal_when(dir, args, "^run ", 0.8, sig);
}

/// The one run of a fresh store: quickstart stopped by SIGTERM with its checkpoint; its id.
std::string sigtermed_quickstart(const TempDir& dir) {
  REQUIRE(interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun, SIGTERM) ==
          143);
  return query_one(dir, "SELECT id FROM runs");
}
}  // namespace

TEST_CASE("an interrupted and resumed run ends exactly like an uninterrupted one",
          "[e2e][run][resume]") {
  TempDir dir;
  const std::string args = "run " + q(e2e::recipe("quickstart.toml")) + kLongRun;
  auto full = fabric_exp(dir, args);
  INFO(full.output);
  REQUIRE(full.exit_code == 0);

  const int code = interrupt_run(dir, args, SIGTERM);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 143);
  const std::string killed = query_one(dir, "SELECT id FROM runs WHERE status = 'killed'");
  REQUIRE_FALSE(killed.empty());
  const std::string stopped_at = query_one(
      dir, "SELECT max(step) FROM metrics WHERE run_id = " + q(killed) + " AND key = 'train/loss'");
  CHECK(std::stoi(stopped_at) < 3300);  // it was stopped before the end (3378 steps)

  auto resumed = fabric_exp(dir, "run --resume " + killed.substr(0, 4));
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "resumed from"));
  CHECK(query_one(dir, "SELECT status FROM runs WHERE id = " + q(killed)) == "finished");

  // Same metrics at every step, to the last bit, and no duplicated rows.
  const std::string full_id = query_one(dir, "SELECT id FROM runs WHERE id != " + q(killed));
  auto differing =
      query(dir, "SELECT a.key, a.step, a.value, b.value FROM " + reproducible_metrics +
                     " a JOIN " + reproducible_metrics +
                     " b ON a.key = b.key AND a.step = b.step WHERE a.run_id = " + q(full_id) +
                     " AND b.run_id = " + q(killed) + " AND a.value != b.value");
  CHECK(differing.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + reproducible_metrics +
                           " WHERE run_id = " + q(full_id)) ==
        query_one(dir,
                  "SELECT count(*) FROM " + reproducible_metrics + " WHERE run_id = " + q(killed)));
  require_same_weights(dir, full_id, killed);  // and the same weights
}

namespace {
/// Rows of (key, step, value) that differ between two runs, and whether both have the same rows.
void require_same_metrics(const TempDir& dir, const std::string& a, const std::string& b) {
  const std::string& rows = reproducible_metrics;
  auto differing =
      query(dir, "SELECT a.key, a.step, a.value, b.value FROM " + rows + " a JOIN " + rows +
                     " b ON a.key = b.key AND a.step = b.step WHERE a.run_id = " + q(a) +
                     " AND b.run_id = " + q(b) + " AND a.value != b.value");
  for (const auto& row : differing) INFO(row[0] + " @" + row[1] + ": " + row[2] + " vs " + row[3]);
  CHECK(differing.empty());
  auto missing =
      query(dir, "SELECT key, step FROM " + rows + " WHERE run_id = " + q(a) +
                     " EXCEPT SELECT key, step FROM " + rows + " WHERE run_id = " + q(b));
  for (const auto& row : missing) INFO("missing after resume: " + row[0] + " @" + row[1]);
  CHECK(missing.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + rows + " WHERE run_id = " + q(a)) ==
        query_one(dir, "SELECT count(*) FROM " + rows + " WHERE run_id = " + q(b)));
}
}  // namespace

TEST_CASE("after kill -9 at any point, --resume ends bit-identical to an uninterrupted run",
          "[e2e][run][resume][kill9]") {
  // Dropout and the shuffle both draw from the generator, so a generator state restored wrongly
  // shows in the metrics of the epochs after the checkpoint.
  const std::string args = "run " + q(e2e::recipe("quickstart.toml")) +
                           " data.samples=20000 run.max_epochs=5 model.dropout=0.1";
  TempDir dir;
  auto full = fabric_exp(dir, args);
  INFO(full.output);
  REQUIRE(full.exit_code == 0);
  const std::string full_id = query_one(dir, "SELECT id FROM runs");
  // Killed as it starts (before any checkpoint), and after the first and the third epoch-end
  // checkpoints, at a few moments after them: the first checkpoint may not be in place yet.
  for (const auto& [line, delay] :
       std::vector<std::pair<std::string, double>>{{"^run ", 0.0},
                                                   {"^epoch 0 step", 0.0},
                                                   {"^epoch 0 step", 0.15},
                                                   {"^epoch 2 step", 0.05}}) {
    INFO("killed after the line " << line << " + " << delay << " s");
    // SIGKILL: no handler runs, nothing is flushed.
    REQUIRE(e2e::signal_when(dir, args, line, delay, SIGKILL) == 137);
    const std::string killed = query_one(
        dir, "SELECT id FROM runs WHERE id != " + q(full_id) + " ORDER BY created_at DESC LIMIT 1");
    REQUIRE_FALSE(killed.empty());
    const bool had_checkpoint =
        fs::exists(query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(killed)) +
                   "/checkpoints/last.ckpt");
    if (line == "^run ") CHECK_FALSE(had_checkpoint);
    auto resumed = fabric_exp(dir, "run --resume " + killed);
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(
        contains(resumed.output, had_checkpoint ? "resumed from" : "trains again from the start"));
    require_same_metrics(dir, full_id, killed);
  }
}

TEST_CASE("a checkpoint the store recorded and that is gone is an error, not a start over",
          "[e2e][run][resume]") {
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  const std::string ckpt = query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt";
  REQUIRE(fs::remove(ckpt));
  auto resumed = fabric_exp(dir, "run --resume " + id);
  CHECK(resumed.exit_code != 0);
  CHECK(contains(resumed.output, "was recorded but is gone"));
  CHECK(contains(resumed.output, ckpt));
}

TEST_CASE("a checkpoint in place that the store has no record of yet resumes on its CRCs",
          "[e2e][run][resume]") {
  // The state a kill leaves between a checkpoint's rename and the store's record of its digest.
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  fabric::store::SqliteDatabase(dir.str("store.db"))
      .exec("DELETE FROM artifacts WHERE kind = 'checkpoint'");
  auto resumed = fabric_exp(dir, "run --resume " + id);
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "resumed from"));
}

TEST_CASE("a checkpoint whose bytes were changed is refused, naming the file and a sound one",
          "[e2e][run][resume][integrity]") {
  TempDir dir;
  const std::string id = sigtermed_quickstart(dir);
  const std::string ckpt = query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt";
  REQUIRE(fs::exists(ckpt));
  // Overwrite bytes in the middle of the file in place: same size, tensor data changed.
  {
    std::fstream f(ckpt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(fs::file_size(ckpt) / 2));
    f.write("\x13\x37\x13\x37\x13\x37\x13\x37", 8);
  }
  auto resumed = fabric_exp(dir, "run --resume " + id);
  INFO(resumed.output);
  CHECK(resumed.exit_code == 1);
  CHECK(contains(resumed.output, ckpt));
  CHECK(contains(resumed.output, "no other checkpoint of this run is sound"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "killed");  // left as it was

  // fabric::load (every load path) refuses it as well.
  CHECK_THROWS_WITH(fabric::read_checkpoint_file(ckpt),
                    Catch::Contains("fails its integrity check") && Catch::Contains("CRC-32"));
}

TEST_CASE("Ctrl-C writes a checkpoint, records the run as killed and exits 130",
          "[e2e][run][signal]") {
  TempDir dir;
  const int code =
      interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun, SIGINT);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 130);
  auto row = query(dir, "SELECT status, exit_code, error, run_dir FROM runs");
  REQUIRE(row.size() == 1);
  CHECK(row[0][0] == "killed");
  CHECK(row[0][1] == "130");
  CHECK(contains(row[0][2], "Interrupt"));
  CHECK(fs::exists(row[0][3] + "/checkpoints/last.ckpt"));
  CHECK(query_one(dir, "SELECT count(*) FROM artifacts WHERE path LIKE '%last.ckpt'") == "1");
  CHECK(contains(test_support::read_file(dir.str("out.txt")),
                 "resume with: fabric-exp run --resume"));
}

TEST_CASE("SIGTERM to a DDP run stops both ranks at one agreed step and it resumes",
          "[e2e][run][signal][ddp]") {
  TempDir dir;
  const std::string ddp = " fabric.accelerator=cpu fabric.strategy=ddp fabric.devices=2";
  const int code =
      interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun + ddp, SIGTERM);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 143);
  auto row = query(dir, "SELECT id, status, run_dir FROM runs");
  REQUIRE(row.size() == 1);
  CHECK(row[0][1] == "killed");
  // Ranks agree on stopping every 16 steps: the checkpoint is at such a step, before the end.
  const std::string out = test_support::read_file(dir.str("out.txt"));
  const auto at = out.find("steps: ");
  REQUIRE(at != std::string::npos);
  const int64_t step = std::stoll(out.substr(at + 7));
  CHECK(step % 16 == 0);
  CHECK(step < 1600);
  CHECK(fs::exists(row[0][2] + "/checkpoints/last.ckpt"));
  auto resumed = fabric_exp(dir, "run --resume last");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "step " + std::to_string(step)));
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
}

TEST_CASE("an fsdp run logs what the ddp run logs, and resumes exactly after SIGTERM",
          "[e2e][run][fsdp]") {
  TempDir dir;
  const std::string base = "run " + q(e2e::recipe("quickstart.toml")) + kLongRunTwoProcesses +
                           " fabric.accelerator=cpu fabric.devices=2 run.name=";
  auto ddp = fabric_exp(dir, base + "ddp fabric.strategy=ddp");
  INFO(ddp.output);
  REQUIRE(ddp.exit_code == 0);
  const std::string fsdp = base + "fsdp fabric.strategy=fsdp fabric.fsdp.unit=block";
  auto full = fabric_exp(dir, fsdp);
  INFO(full.output);
  REQUIRE(full.exit_code == 0);
  CHECK(contains(full.output, "(fsdp, 2 processes"));
  const std::string ddp_id = query_one(dir, "SELECT id FROM runs WHERE name = 'ddp'");
  const std::string full_id = query_one(dir, "SELECT id FROM runs WHERE name = 'fsdp'");
  // The same losses as ddp, step by step (gradients are averaged in the same order).
  auto apart = query(dir,
                     "SELECT max(abs(a.value - b.value)) FROM metrics a JOIN metrics b "
                     "ON a.key = b.key AND a.step = b.step WHERE a.run_id = " +
                         q(ddp_id) + " AND b.run_id = " + q(full_id) +
                         " AND a.key IN ('train/loss', 'val/loss', 'val/accuracy')");
  REQUIRE(apart.size() == 1);
  CHECK(std::stod(apart[0][0]) < 1e-5);

  const int code = interrupt_run(dir, fsdp, SIGTERM);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 143);
  const std::string killed = query_one(dir, "SELECT id FROM runs WHERE status = 'killed'");
  REQUIRE_FALSE(killed.empty());
  auto resumed = fabric_exp(dir, "run --resume " + killed);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM runs WHERE id = " + q(killed)) == "finished");
  require_same_metrics(dir, full_id, killed);
  require_same_weights(dir, full_id, killed);  // full, unsharded weights
}

TEST_CASE("a sharded checkpoint swap cut short by a kill resumes from the folder it moved aside",
          "[e2e][run][fsdp][resume]") {
  TempDir dir;
  const std::string args = "run " + q(e2e::recipe("quickstart.toml")) + kLongRunTwoProcesses +
                           " fabric.accelerator=cpu fabric.devices=2 fabric.strategy=fsdp "
                           "fabric.fsdp.state_dict_type=sharded";
  REQUIRE(interrupt_run(dir, args, SIGTERM) == 143);
  const std::string id = query_one(dir, "SELECT id FROM runs");
  const std::string ckpt = query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt";
  REQUIRE(fs::is_directory(ckpt));
  // What a kill between the two renames of the swap leaves: the older folder aside, the newer
  // one still partial, no last.ckpt.
  fs::rename(ckpt, ckpt + ".old");
  fs::create_directories(ckpt + ".partial");
  auto resumed = fabric_exp(dir, "run --resume " + id);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(contains(resumed.output, "resumed from"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "finished");
  CHECK(fs::exists(ckpt + "/meta.pt"));
  CHECK_FALSE(fs::exists(ckpt + ".old"));
}

TEST_CASE("a transformer_lm that ddp cannot fit under a memory limit trains under fsdp",
          "[e2e][run][fsdp][memory]") {
  // 57M parameters (228 MB): ddp keeps them, their gradients and AdamW's two moments on each of
  // the two processes (about 3.1 GB of data pages at its peak, measured); FULL_SHARD keeps half of
  // each (1.9 GB). The limit sits between. glibc's dynamic mmap threshold would keep freed blocks
  // mapped and blur the figures: a fixed threshold hands them back. Windows that do not overlap
  // (stride = context) make 8x fewer validation and test batches, which with this model were
  // most of the test's time; the memory that matters is training's.
  TempDir dir;
  const std::string limited =
      "ulimit -d 2500000; MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 ";
  const std::string args = "run " + q(e2e::recipe("char_lm_fsdp.toml")) +
                           " model.width=768 model.layers=8 model.heads=8 data.batch_size=8 "
                           "data.stride=64 run.max_steps=3 fabric.fsdp.state_dict_type=sharded "
                           "run.name=";
  auto ddp = e2e::fabric_exp(dir, args + "ddp fabric.strategy=ddp", limited);
  INFO(ddp.output);
  CHECK(ddp.exit_code != 0);
  CHECK(query_one(dir, "SELECT status FROM runs WHERE name = 'ddp'") == "failed");
  CHECK(contains(query_one(dir, "SELECT error FROM runs WHERE name = 'ddp'"), "memory"));
  auto fsdp = e2e::fabric_exp(dir, args + "fsdp", limited);
  INFO(fsdp.output);
  REQUIRE(fsdp.exit_code == 0);
  CHECK(query_one(dir, "SELECT status FROM runs WHERE name = 'fsdp'") == "finished");
  // The sharded checkpoint: a folder, registered with its manifest digest.
  const std::string ckpt =
      query_one(dir, "SELECT run_dir FROM runs WHERE name = 'fsdp'") + "/checkpoints/last.ckpt";
  CHECK(fs::is_directory(ckpt));
  CHECK(fs::exists(ckpt + "/rank_1.pt"));
  CHECK(query_one(dir, "SELECT sha256 FROM artifacts WHERE path = " + q(ckpt)).size() == 64);
}

TEST_CASE("a missing data folder is a recipe error naming the key", "[e2e][run][errors]") {
  TempDir dir;
  auto r = fabric_exp(
      dir, "run " + q(e2e::recipe("fashion_mnist_mlp.toml")) + " data.root=/nonexistent/fm");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "data.root"));
  CHECK(contains(r.output, "/nonexistent/fm"));
}

TEST_CASE("corrupt and malformed data files name the file and what is wrong",
          "[e2e][run][errors]") {
  TempDir dir;
  SECTION("a corrupt gzipped IDX file") {
    fs::create_directories(dir.str("fm"));
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
      std::ofstream(dir.str("fm/") + f) << "\x1f\x8b\x08 this is not gzip data";
    }
    auto r = fabric_exp(
        dir, "run " + q(e2e::recipe("fashion_mnist_mlp.toml")) + " data.root=" + dir.str("fm"));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, dir.str("fm") + "/train-images-idx3-ubyte.gz"));
    CHECK(query_one(dir, "SELECT status FROM runs") == "failed");
    CHECK(contains(query_one(dir, "SELECT error FROM runs"), "train-images-idx3-ubyte.gz"));
  }
  SECTION("a CSV file with a field that is not a number") {
    std::ofstream(dir.str("d.csv")) << "a,b,label\n1,2,0\n3,x,1\n";
    std::ofstream(dir.str("r.toml"))
        << "[run]\nmax_epochs = 1\n[model]\nkind = \"mlp\"\n[optimizer]\nkind = \"sgd\"\n"
        << "[data]\nkind = \"csv\"\npath = \"d.csv\"\ntarget = \"label\"\n";
    auto r = fabric_exp(dir, "run r.toml");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "d.csv' line 3 column 2: 'x' is not a number"));
  }
}

TEST_CASE("a layer that does not fit its input points at its line", "[e2e][run][errors]") {
  TempDir dir;
  std::ofstream(dir.str("seq.toml")) << "[run]\nmax_epochs = 1\n[model]\nkind = \"sequential\"\n"
                                     << "[[model.layers]]\ntype = \"linear\"\nout = 16\n"
                                     << "[[model.layers]]\ntype = \"relu\"\n"
                                     << "[[model.layers]]\ntype = \"conv2d\"\nout = 4\n"
                                     << "[optimizer]\nkind = \"sgd\"\n"
                                     << "[data]\nkind = \"synthetic\"\nclasses = 4\n";
  auto r = fabric_exp(dir, "run seq.toml");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.output, "seq.toml:10:"));
  CHECK(contains(r.output,
                 "model.layers[2] (conv2d) needs [channels, height, width] inputs; it gets samples "
                 "of shape [16]"));
}

TEST_CASE("resuming what cannot be resumed says why", "[e2e][run][errors]") {
  TempDir dir;
  auto none = fabric_exp(dir, "run --resume zzzz");
  CHECK(none.exit_code == 1);
  CHECK(contains(none.output, "no run 'zzzz'"));
  REQUIRE(
      fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) + " run.max_epochs=1").exit_code ==
      0);
  auto done = fabric_exp(dir, "run --resume last");
  CHECK(done.exit_code == 1);
  CHECK(contains(done.output, "already finished"));
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
      model_tensors(query_one(dir, "SELECT run_dir FROM runs") + "/checkpoints/last.ckpt");
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

TEST_CASE("a kill -9'd run is listed as failed", "[e2e][run][kill9]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  const int code =
      interrupt_run(dir, "run " + q(e2e::recipe("quickstart.toml")) + kLongRun, SIGKILL);
  INFO(test_support::read_file(dir.str("out.txt")));
  REQUIRE(code == 137);
  CHECK(query_one(dir, "SELECT status FROM runs") == "running");  // nobody closed it...
  auto listed = fabric_exp(dir, "runs --format csv --columns error");
  INFO(listed.output);
  CHECK(contains(listed.output, ",failed,"));  // ...but it is shown as failed
  CHECK(contains(listed.output, "is gone; no heartbeat since"));
  CHECK(query_one(dir, "SELECT status FROM runs") == "failed");
}

TEST_CASE("runs, show, metrics and rm on recorded runs", "[e2e][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 --tag team=vision")
              .exit_code == 0);
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 optimizer.lr=0.01 --note 'higher lr'")
              .exit_code == 0);
  const std::string first = query_one(dir, "SELECT id FROM runs WHERE note IS NULL");
  const std::string second = query_one(dir, "SELECT id FROM runs WHERE note IS NOT NULL");

  auto filtered = fabric_exp(
      dir, "runs --where \"params.optimizer.lr > 5e-3 and status = 'finished'\" --format csv");
  INFO(filtered.output);
  CHECK(filtered.exit_code == 0);
  CHECK(contains(filtered.output, second));
  CHECK_FALSE(contains(filtered.output, first));
  CHECK(contains(filtered.output, "params.optimizer.lr"));  // filtered-on columns are shown

  auto bad = fabric_exp(dir, "runs --where \"params.optimizer.lr >\"");
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.output, "column 22"));

  auto show = fabric_exp(dir, "show " + first.substr(0, 5));
  INFO(show.output);
  CHECK(show.exit_code == 0);
  CHECK(contains(show.output, "team=vision"));
  CHECK(contains(show.output, "val/accuracy"));
  CHECK(contains(show.output, "last.ckpt"));
  CHECK(contains(show.output, "# resolved recipe"));

  // CSV and JSON outputs load in Python's own modules.
  auto python = test_support::python_with_torch();
  if (python) {
    auto csv = fabric_exp(dir, "metrics last val/loss train/loss --format csv > m.csv");
    REQUIRE(csv.exit_code == 0);
    auto parsed = test_support::run_command(
        "cd " + q(dir.str()) + " && " + *python +
        " -c \"import csv; rows = list(csv.DictReader(open('m.csv'))); "
        "assert {r['key'] for r in rows} == {'val/loss', 'train/loss'}, rows; print(len(rows))\"");
    INFO(parsed.output);
    CHECK(parsed.exit_code == 0);
    auto json =
        fabric_exp(dir, "runs --format json --columns note,metrics.val/accuracy.max > r.json");
    REQUIRE(json.exit_code == 0);
    auto loaded = test_support::run_command(
        "cd " + q(dir.str()) + " && " + *python +
        " -c \"import json; runs = json.load(open('r.json')); assert len(runs) == 2; "
        "assert runs[0]['note'] == 'higher lr'; assert 0 < runs[0]['metrics.val/accuracy.max'] <= "
        "1; print('ok')\"");
    INFO(loaded.output);
    CHECK(loaded.exit_code == 0);
  }

  const std::string folder = query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(first));
  REQUIRE(fs::exists(folder));
  auto refused = fabric_exp(dir, "rm " + first + " < /dev/null");
  CHECK(refused.exit_code == 1);
  CHECK(fs::exists(folder));
  auto removed = fabric_exp(dir, "rm --yes " + first);
  CHECK(removed.exit_code == 0);
  CHECK_FALSE(fs::exists(folder));
  CHECK(query_one(dir, "SELECT count(*) FROM runs") == "1");
  CHECK(query_one(dir, "SELECT count(*) FROM metrics WHERE run_id = " + q(first)) == "0");
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

TEST_CASE("compare, plot, rerun and gc", "[e2e][query]") {
  FABRIC_FOR_EACH_STORE_BACKEND(backend);
  TempDir dir;
  e2e::use_store_backend(dir, backend);
  const std::string base = "run " + q(e2e::recipe("quickstart.toml")) + " run.max_epochs=1";
  REQUIRE(fabric_exp(dir, base).exit_code == 0);
  REQUIRE(fabric_exp(dir, base + " optimizer.lr=0.01").exit_code == 0);
  auto ids = query(dir, "SELECT id FROM runs ORDER BY created_at");
  const std::string a = ids[0][0], b = ids[1][0];

  auto cmp = fabric_exp(dir, "compare " + a + " " + b);
  INFO(cmp.output);
  CHECK(cmp.exit_code == 0);
  CHECK(contains(cmp.output, "optimizer.lr"));
  CHECK_FALSE(contains(cmp.output, "optimizer.kind"));  // equal keys are not listed
  CHECK(contains(cmp.output, "val/accuracy"));

  auto chart = fabric_exp(dir, "plot " + a + " train/loss");
  CHECK(chart.exit_code == 0);
  CHECK(contains(chart.output, "train/loss"));
  CHECK(contains(chart.output, "*"));
  auto svg = fabric_exp(dir, "plot " + a + " " + b + " val/loss --out curves.svg");
  CHECK(svg.exit_code == 0);
  const std::string doc = test_support::read_file(dir.str("curves.svg"));
  CHECK(doc.rfind("<svg", 0) == 0);
  CHECK(contains(doc, "<polyline"));
  CHECK(fabric_exp(dir, "plot " + a + " nope").exit_code == 1);

  // The same resolved recipe and seed give the same numbers; nothing drifted in between.
  auto again = fabric_exp(dir, "rerun " + a);
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.output, "no drift"));
  const std::string c = query_one(dir, "SELECT id FROM runs WHERE parent = " + q(a));
  REQUIRE_FALSE(c.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + reproducible_metrics + " x JOIN " +
                           reproducible_metrics +
                           " y ON x.key = y.key AND x.step = y.step WHERE x.run_id = " + q(a) +
                           " AND y.run_id = " + q(c) + " AND x.value != y.value") == "0");

  // gc: a folder of this store without its row goes; another store's folder stays.
  const std::string dir_b = query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(b));
  REQUIRE(fabric_exp(dir, "run " + q(e2e::recipe("quickstart.toml")) +
                              " run.max_epochs=1 --store other.db")
              .exit_code == 0);
  e2e::exec_sql(dir, "DELETE FROM runs WHERE id = '" + b + "'");
  auto gc = fabric_exp(dir, "gc --yes");
  INFO(gc.output);
  CHECK(gc.exit_code == 0);
  CHECK_FALSE(fs::exists(dir_b));
  CHECK(contains(gc.output, "removed 1 folder(s)"));
  CHECK(fabric_exp(dir, "gc --yes").output.find("nothing to collect") != std::string::npos);
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
