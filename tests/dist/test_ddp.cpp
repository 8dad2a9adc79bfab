// Distributed Fabric with real processes, real c10d rendezvous on 127.0.0.1 and Gloo: our
// launcher, torchrun --no-python, and a simulated SLURM job all run tests/dist/dist_worker.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "fabric/data/sampler.hpp"
#include "fabric/launcher/environment.hpp"
#include "support/helpers.hpp"

using test_support::TempDir;

namespace {

std::string worker() {
  return (test_support::exe_dir() / "dist_worker").string();
}

test_support::CommandResult run_worker(const std::string& args, const std::string& env = "") {
  return test_support::run_command(env + " timeout 120 " + worker() + " " + args);
}

at::Tensor load_params(const std::string& path) {
  at::Tensor t;
  torch::load(t, path);
  return t;
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string find_line(const std::vector<std::string>& all, const std::string& prefix) {
  for (const auto& l : all) {
    if (l.rfind(prefix, 0) == 0) return l;
  }
  return "<missing: " + prefix + ">";
}

}  // namespace

TEST_CASE("two ranks with batch 32 end where one process with batch 64 ends", "[dist][ddp]") {
  TempDir two, one;
  auto r2 = run_worker("2 train " + two.str());
  INFO(r2.output);
  REQUIRE(r2.exit_code == 0);
  auto r1 = run_worker("1 train " + one.str());
  INFO(r1.output);
  REQUIRE(r1.exit_code == 0);
  auto rank0 = load_params(two.str("params_rank0.pt"));
  auto rank1 = load_params(two.str("params_rank1.pt"));
  auto single = load_params(one.str("params_rank0.pt"));
  CHECK(torch::equal(rank0, rank1));  // both ranks hold identical parameters
  CHECK(torch::allclose(rank0, single, /*rtol=*/0, /*atol=*/1e-5));
  CHECK((rank0 - single).abs().max().item<double>() < 1e-5);
  CHECK(std::filesystem::exists(two.str("final.pt")));
}

TEST_CASE("accumulation under no_backward_sync equals synchronised accumulation", "[dist][ddp]") {
  TempDir nosync, sync, plain;
  REQUIRE(run_worker("2 train " + nosync.str() + " accum_nosync").exit_code == 0);
  REQUIRE(run_worker("2 train " + sync.str() + " accum_sync").exit_code == 0);
  REQUIRE(run_worker("2 train " + plain.str() + " ddp").exit_code == 0);
  auto a = load_params(nosync.str("params_rank0.pt"));
  auto b = load_params(sync.str("params_rank0.pt"));
  auto c = load_params(plain.str("params_rank0.pt"));
  CHECK((a - b).abs().max().item<double>() < 1e-5);
  CHECK((a - c).abs().max().item<double>() < 1e-5);
  CHECK(torch::equal(a, load_params(nosync.str("params_rank1.pt"))));
}

TEST_CASE("collectives on int, float and bf16 tensors and collections", "[dist][collectives]") {
  TempDir dir;
  auto r = run_worker("2 collectives " + dir.str());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (int rank : {0, 1}) {
    auto got = lines(dir.str("rank" + std::to_string(rank) + ".txt"));
    INFO("rank " << rank);
    // rank 0 contributes [1, 3], rank 1 [2, 5]
    for (std::string dtype : {"Long", "Int", "Float", "BFloat16"}) {
      bool is_int = dtype == "Long" || dtype == "Int";
      CHECK(find_line(got, "all_reduce sum " + dtype) ==
            "all_reduce sum " + dtype + " 3 8 " + dtype);
      CHECK(find_line(got, "all_reduce mean " + dtype) ==
            "all_reduce mean " + dtype + (is_int ? " 1 4 " : " 1.5 4 ") + dtype);
      CHECK(find_line(got, "all_reduce max " + dtype) ==
            "all_reduce max " + dtype + " 2 5 " + dtype);
      CHECK(find_line(got, "all_reduce min " + dtype) ==
            "all_reduce min " + dtype + " 1 3 " + dtype);
      CHECK(find_line(got, "all_reduce product " + dtype) ==
            "all_reduce product " + dtype + " 2 15 " + dtype);
      CHECK(find_line(got, "all_gather " + dtype) == "all_gather " + dtype + " [2, 2] 22");
      CHECK(find_line(got, "broadcast " + dtype) == "broadcast " + dtype + " 6");
    }
    CHECK(find_line(got, "collection") == "collection a 1 b 10");
    CHECK(find_line(got, "vector") == "vector [2, 1]");
    CHECK(find_line(got, "scalar") == "scalar 3");
    CHECK(find_line(got, "string") == "string from rank 1");
    CHECK(got.back() == "done");
  }
}

TEST_CASE("the distributed sampler shards, and reshuffles every epoch", "[dist][sampler]") {
  TempDir dir;
  REQUIRE(run_worker("2 sampler " + dir.str()).exit_code == 0);
  std::vector<std::set<int>> epochs(2);
  std::vector<std::string> orders;
  for (int rank : {0, 1}) {
    auto got = lines(dir.str("rank" + std::to_string(rank) + ".txt"));
    CHECK(got[0] == "batches 3");  // 5 samples per rank in batches of 2
    for (int e = 0; e < 2; ++e) {
      std::istringstream is(got[size_t(e) + 1].substr(got[size_t(e) + 1].find(':') + 1));
      std::vector<int64_t> order;
      for (int v; is >> v;) {
        order.push_back(v);
        epochs[size_t(e)].insert(v);
      }
      // exactly torch's DistributedSampler(seed=42) order for this rank and epoch
      auto expected = fabric::data::epoch_indices(
          10, {.shuffle = true, .distributed = true, .num_replicas = 2, .rank = rank, .seed = 42},
          e);
      CHECK(order == expected);
      orders.push_back(got[size_t(e) + 1]);
    }
  }
  CHECK(epochs[0].size() == 10);  // the shards are disjoint and cover the data
  CHECK(epochs[1].size() == 10);
  CHECK(orders[0].substr(9) != orders[1].substr(9));  // a new order in epoch 1
}

TEST_CASE("a failing rank brings the whole job down within seconds", "[dist][launcher]") {
  TempDir dir;
  auto start = std::chrono::steady_clock::now();
  auto r = run_worker("2 fail " + dir.str());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.output);
  CHECK(r.exit_code == 3);
  CHECK(seconds < 10.0);
  CHECK(r.output.find("local rank 1") != std::string::npos);
  CHECK(r.output.find("exited with status 3") != std::string::npos);
  // "[d]" keeps pgrep from matching its own shell's command line.
  auto leftovers = test_support::run_command("pgrep -f '[d]ist_worker 2 fail " + dir.str() + "'");
  CHECK(leftovers.output.empty());  // no orphans
}

TEST_CASE("mismatched shapes are reported instead of hanging", "[dist][collectives]") {
  TempDir dir;
  REQUIRE(run_worker("2 mismatch " + dir.str()).exit_code == 0);
  for (int rank : {0, 1}) {
    auto got = lines(dir.str("rank" + std::to_string(rank) + ".txt"));
    REQUIRE_FALSE(got.empty());
    CHECK(got[0] ==
          "error: all_gather: the tensors differ across ranks (rank 0: [1] Float; rank 1: [2] "
          "Float); every rank "
          "must pass the same shape and dtype");
  }
}

TEST_CASE("torchrun --no-python and a SLURM job train identically to our launcher",
          "[dist][launcher]") {
  TempDir ours, slurm;
  REQUIRE(run_worker("2 train " + ours.str()).exit_code == 0);
  auto reference = load_params(ours.str("params_rank0.pt"));

  // SLURM: what srun --ntasks=2 --ntasks-per-node=2 sets for two tasks on one host.
  int port = fabric::find_free_port();
  std::string cmd;
  for (int r : {0, 1}) {
    cmd +=
        "SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=2 SLURM_NNODES=1 SLURM_JOB_NAME=train "
        "SLURM_JOB_ID=4242 "
        "SLURM_NODELIST=localhost SLURM_PROCID=" +
        std::to_string(r) + " SLURM_LOCALID=" + std::to_string(r) +
        " SLURM_NODEID=0 MASTER_PORT=" + std::to_string(port) + " timeout 120 " + worker() +
        " auto train " + slurm.str() + " & ";
  }
  auto rs = test_support::run_command("(" + cmd + "wait)");
  INFO(rs.output);
  auto s0 = load_params(slurm.str("params_rank0.pt"));
  CHECK(torch::equal(s0, reference));
  CHECK(torch::equal(load_params(slurm.str("params_rank1.pt")), reference));

  auto torchrun = test_support::torchrun_path();
  if (!torchrun) FABRIC_SKIP("no torchrun beside the build's Python (python3-torch)");
  // torchrun 1.13 spells its flags with underscores (2.x accepts both). "--redirects 1 --tee 1":
  // under Python 3.11 torchrun 1.13 turns its default "0" into None (IntFlag iteration skips 0).
  TempDir elastic;
  auto rt = test_support::run_command("timeout 120 " + *torchrun +
                                      " --no_python --redirects 1 --tee 1 --nproc_per_node 2 "
                                      "--master_port " +
                                      std::to_string(fabric::find_free_port()) + " " + worker() +
                                      " auto train " + elastic.str());
  INFO(rt.output);
  REQUIRE(rt.exit_code == 0);
  CHECK(torch::equal(load_params(elastic.str("params_rank0.pt")), reference));
  CHECK(torch::equal(load_params(elastic.str("params_rank1.pt")), reference));
}
