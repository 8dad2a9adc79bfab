// Cluster-environment detection and validation.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <cstdlib>

#include "fabric/fabric.hpp"
#include "fabric/launcher/environment.hpp"
#include "support/helpers.hpp"

namespace {
// Sets environment variables for one scope and restores the previous values.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      if (v) {
        ::setenv(k, v, 1);
      } else {
        ::unsetenv(k);
      }
    }
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) {
        ::setenv(k.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(k.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

const std::initializer_list<std::pair<const char*, const char*>> kClean = {
    {"TORCHELASTIC_RUN_ID", nullptr},  {"SLURM_NTASKS", nullptr}, {"SLURM_JOB_NAME", nullptr},
    {"LOCAL_RANK", nullptr},           {"NODE_RANK", nullptr},    {"GROUP_RANK", nullptr},
    {"MASTER_ADDR", nullptr},          {"MASTER_PORT", nullptr},  {"WORLD_SIZE", nullptr},
    {"SLURM_NTASKS_PER_NODE", nullptr}};
}  // namespace

TEST_CASE("SLURM node lists give the first host", "[fabric][environment]") {
  CHECK(fabric::slurm_first_host("host[5-9]") == "host5");
  CHECK(fabric::slurm_first_host("alpha,beta") == "alpha");
  CHECK(fabric::slurm_first_host("n[01-04,07]") == "n01");
  CHECK(fabric::slurm_first_host("single") == "single");
  CHECK(fabric::slurm_first_host("a b") == "a");
}

TEST_CASE("environment detection and priority", "[fabric][environment]") {
  ScopedEnv clean(kClean);
  CHECK(fabric::detect_environment().kind == fabric::EnvironmentKind::Lightning);
  CHECK_FALSE(fabric::detect_environment().creates_processes_externally);
  {
    ScopedEnv e({{"LOCAL_RANK", "1"}, {"GROUP_RANK", "2"}});
    auto env = fabric::detect_environment();
    CHECK(env.creates_processes_externally);  // LOCAL_RANK present: made outside
    CHECK(env.local_rank == 1);
    CHECK(env.node_rank == 2);  // GROUP_RANK fallback
  }
  {
    ScopedEnv e({{"SLURM_NTASKS", "4"},
                 {"SLURM_PROCID", "3"},
                 {"SLURM_LOCALID", "1"},
                 {"SLURM_NODEID", "1"},
                 {"SLURM_JOB_NAME", "train"},
                 {"SLURM_JOB_ID", "123456"},
                 {"SLURM_NODELIST", "gpu[12-13]"}});
    auto env = fabric::detect_environment();
    CHECK(env.kind == fabric::EnvironmentKind::Slurm);
    CHECK(env.world_size == 4);
    CHECK(env.global_rank == 3);
    CHECK(env.main_address == "gpu12");
    CHECK(env.main_port == 15000 + 3456);
    {
      ScopedEnv t(
          {{"TORCHELASTIC_RUN_ID", "x"}, {"WORLD_SIZE", "2"}, {"RANK", "1"}, {"LOCAL_RANK", "1"}});
      CHECK(fabric::detect_environment().kind ==
            fabric::EnvironmentKind::TorchElastic);  // wins over SLURM
    }
    ScopedEnv bash({{"SLURM_JOB_NAME", "bash"}});
    CHECK(fabric::detect_environment().kind ==
          fabric::EnvironmentKind::Lightning);  // interactive allocation
  }
}

TEST_CASE("settings that contradict the environment are errors, not hangs",
          "[fabric][environment]") {
  ScopedEnv clean(kClean);
  {
    ScopedEnv t(
        {{"TORCHELASTIC_RUN_ID", "x"}, {"WORLD_SIZE", "4"}, {"RANK", "0"}, {"LOCAL_RANK", "0"}});
    CHECK_THROWS_WITH(fabric::Fabric({.accelerator = "cpu", .strategy = "ddp", .devices = 2}),
                      Catch::Contains("torchelastic environment sets the world size to 4"));
  }
  {
    ScopedEnv s({{"SLURM_NTASKS", "2"}, {"SLURM_JOB_NAME", "x"}, {"SLURM_PROCID", "0"}});
    CHECK_THROWS_WITH(fabric::Fabric({.accelerator = "cpu", .strategy = "ddp", .devices = 2}),
                      Catch::Contains("not `SLURM_NTASKS_PER_NODE`"));
    ScopedEnv p({{"SLURM_NTASKS_PER_NODE", "2"}, {"SLURM_NNODES", "1"}});
    CHECK_THROWS_WITH(fabric::Fabric({.accelerator = "cpu", .strategy = "ddp", .devices = 3}),
                      Catch::Contains("SLURM has 2 tasks per node"));
  }
}

TEST_CASE("DDP needs launch() before setup and collectives", "[fabric][environment]") {
  ScopedEnv clean(kClean);
  fabric::Fabric f({.accelerator = "cpu", .devices = 2});
  CHECK(f.strategy_name() == "ddp");
  CHECK(f.world_size() == 2);
  CHECK(f.global_rank() == 0);
  torch::nn::Linear net(2, 2);
  CHECK_THROWS_WITH(f.setup(net), Catch::Contains("you must call `.launch()`"));
  CHECK_THROWS_AS(f.barrier(), fabric::RuntimeError);
  CHECK_THROWS_AS(f.all_reduce(torch::ones({1})), fabric::RuntimeError);
  CHECK_THROWS_AS(f.init_module([] { return torch::nn::Linear(2, 2); }), fabric::RuntimeError);
  CHECK_THROWS_AS(fabric::Fabric({.accelerator = "cpu", .strategy = "ddp_spawn", .devices = 2}),
                  fabric::NotSupportedError);
  test_support::LogCapture log;
  fabric::Fabric dp({.accelerator = "cpu", .strategy = "dp", .devices = 2});
  CHECK(dp.strategy_name() == "ddp");
  CHECK(log.contains("Falling back to the DDP strategy"));
}
