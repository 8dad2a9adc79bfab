// Runs on two processes from one command: ddp and fsdp over real c10d rendezvous, signals that
// stop both ranks at one step, sharded checkpoints, and fsdp under a memory limit ddp cannot meet.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

#include "e2e/resume_helpers.hpp"
#include "e2e/run_helpers.hpp"

namespace fs = std::filesystem;
using e2e::contains;
using e2e::fabric_exp;
using e2e::q;
using e2e::query;
using e2e::query_one;
using e2e::reproducible_metrics;
using test_support::TempDir;
using namespace e2e::resume;

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
