// Constructor options: accelerator, devices, precision, strategy.
#include <catch2/catch.hpp>

#include "fabric/fabric.hpp"
#include "support/helpers.hpp"

using fabric::Fabric;
using fabric::PrecisionMode;

TEST_CASE("precision names and legacy aliases", "[fabric][connector]") {
  using fabric::AcceleratorKind;
  auto parse = [](fabric::PrecisionInput p) {
    return fabric::parse_precision(p, AcceleratorKind::Cuda);
  };
  CHECK(parse({}) == PrecisionMode::True32);
  CHECK(parse(32) == PrecisionMode::True32);
  CHECK(parse("32") == PrecisionMode::True32);
  CHECK(parse(64) == PrecisionMode::True64);
  CHECK(parse("64-true") == PrecisionMode::True64);
  CHECK(parse(16) == PrecisionMode::Mixed16);
  CHECK(parse("16") == PrecisionMode::Mixed16);
  CHECK(parse("16-true") == PrecisionMode::True16);
  CHECK(parse("bf16-true") == PrecisionMode::TrueBf16);
  CHECK(parse("bf16-mixed") == PrecisionMode::MixedBf16);
  {
    test_support::LogCapture log;
    CHECK(parse("bf16") == PrecisionMode::MixedBf16);
    CHECK(log.contains("supported for historical reasons"));
  }
  {
    test_support::LogCapture log;
    parse(32);
    parse(64);
    CHECK_FALSE(log.contains("warning"));
  }
}

TEST_CASE("invalid precision values list the allowed ones", "[fabric][connector]") {
  for (fabric::PrecisionInput p :
       {fabric::PrecisionInput(1), fabric::PrecisionInput(12), fabric::PrecisionInput("invalid")}) {
    CHECK_THROWS_AS(Fabric({.accelerator = "cpu", .precision = p}), fabric::ValueError);
    CHECK_THROWS_WITH(
        Fabric({.accelerator = "cpu", .precision = p}),
        Catch::Contains("is invalid. Allowed precision values: 16-true, 16-mixed, bf16-true"));
  }
}

TEST_CASE("16-mixed on CPU falls back to bf16-mixed with a warning", "[fabric][connector]") {
  test_support::LogCapture log;
  Fabric f({.accelerator = "cpu", .precision = "16-mixed"});
  CHECK(f.precision().mode() == PrecisionMode::MixedBf16);
  CHECK(log.contains("Using `precision='bf16-mixed'` instead"));
}

TEST_CASE("devices=0, \"0\" and [] are rejected for every accelerator", "[fabric][connector]") {
  for (fabric::Devices d :
       {fabric::Devices(0), fabric::Devices("0"), fabric::Devices(std::vector<int>{})}) {
    CHECK_THROWS_WITH(Fabric({.accelerator = "cpu", .devices = d}),
                      Catch::Contains("value is not a valid input using cpu accelerator"));
  }
}

TEST_CASE("CPU devices must be a positive count", "[fabric][connector]") {
  CHECK_THROWS_AS(Fabric({.accelerator = "cpu", .devices = -1}), fabric::TypeError);
  CHECK_THROWS_AS(Fabric({.accelerator = "cpu", .devices = "0,1"}), fabric::TypeError);
  CHECK_THROWS_WITH(Fabric({.accelerator = "cpu", .devices = std::vector<int>{1}}),
                    Catch::Contains("devices selected with CPUAccelerator should be an int > 0"));
  CHECK_THROWS_AS(fabric::Devices("two"), fabric::TypeError);
  Fabric one({.accelerator = "cpu", .devices = "1"});
  CHECK(one.device() == c10::Device(c10::kCPU));
  CHECK(one.world_size() == 1);
}

TEST_CASE("device strings parse like Lightning's", "[fabric][connector]") {
  CHECK(fabric::Devices("auto").is_auto());
  CHECK(*fabric::Devices("2").count() == 2);
  CHECK(*fabric::Devices("-1").count() == -1);
  CHECK(*fabric::Devices("1, 4").indices() == std::vector<int>{1, 4});
  CHECK(*fabric::Devices("0,").indices() == std::vector<int>{0});
  CHECK(*fabric::Devices("1,0,2").indices() == std::vector<int>{1, 0, 2});
}

TEST_CASE("accelerator names", "[fabric][connector]") {
  CHECK_THROWS_WITH(
      Fabric({.accelerator = "abacus"}),
      Catch::Contains("You selected an invalid accelerator name: `accelerator='abacus'`"));
  CHECK_THROWS_AS(Fabric({.accelerator = "tpu"}), fabric::NotSupportedError);
  Fabric cpu({.accelerator = "CPU"});
  CHECK(cpu.accelerator() == fabric::AcceleratorKind::Cpu);
  if (!fabric::cuda_available()) {
    CHECK_THROWS_WITH(Fabric({.accelerator = "gpu"}), "No supported gpu backend found!");
    CHECK_THROWS_WITH(Fabric({.accelerator = "cuda"}),
                      Catch::Contains("can not run on your system"));
    CHECK_THROWS_AS(Fabric({.accelerator = "cuda"}), fabric::RuntimeError);
    Fabric automatic(fabric::FabricOptions{});
    CHECK(automatic.device().is_cpu());
  }
}

TEST_CASE("strategy names: invalid, unsupported, case-insensitive", "[fabric][connector]") {
  CHECK_THROWS_WITH(
      Fabric({.accelerator = "cpu", .strategy = "cocktail"}),
      Catch::Contains("You selected an invalid strategy name: `strategy='cocktail'`"));
  CHECK_THROWS_AS(Fabric({.accelerator = "cpu", .strategy = "fsdp_cpu_offload"}),
                  fabric::NotSupportedError);
  CHECK(Fabric({.accelerator = "cpu", .strategy = "FSDP"}).strategy_name() == "fsdp");
  CHECK_THROWS_WITH(
      Fabric({.accelerator = "cpu", .strategy = "fsdp", .fsdp = {.sharding_strategy = "HYBRID"}}),
      Catch::Contains("sharding_strategy='HYBRID' is not one of FULL_SHARD, SHARD_GRAD_OP"));
  CHECK_THROWS_WITH(
      Fabric({.accelerator = "cpu", .strategy = "fsdp", .fsdp = {.state_dict_type = "distcp"}}),
      Catch::Contains("state_dict_type='distcp' is not one of full, sharded"));
  CHECK_THROWS_AS(Fabric({.accelerator = "cpu", .strategy = "deepspeed_stage_3"}),
                  fabric::NotSupportedError);
  Fabric f({.accelerator = "cpu", .strategy = "AUTO"});
  CHECK(f.strategy_name() == "single_device");
  CHECK(f.is_global_zero());
  CHECK(f.global_rank() == 0);
  CHECK(f.local_rank() == 0);
  CHECK(f.node_rank() == 0);
}

TEST_CASE("num_nodes must be positive", "[fabric][connector]") {
  CHECK_THROWS_WITH(Fabric({.accelerator = "cpu", .num_nodes = 0}),
                    Catch::Contains("`num_nodes` must be a positive integer"));
}

TEST_CASE("null callbacks or loggers are rejected", "[fabric][connector]") {
  CHECK_THROWS_AS(Fabric({.callbacks = {nullptr}}), fabric::TypeError);
  CHECK_THROWS_AS(Fabric({.loggers = {nullptr}}), fabric::TypeError);
}
