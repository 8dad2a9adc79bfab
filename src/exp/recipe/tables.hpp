// The fixed tables of a recipe: [run] and [fabric].
#pragma once

#include <optional>
#include <string>

#include "exp/params/param_spec.hpp"

namespace fabric::exp {

struct RunConfig {
  std::string name{};
  std::string experiment = "default";
  std::optional<int64_t> seed{};
  std::optional<int64_t> max_epochs{};
  std::optional<int64_t> max_steps{};
  int64_t val_every_n_epochs = 1;
  int64_t val_every_n_steps = 0;
  int64_t accumulate_grad_batches = 1;
  double gradient_clip_val = 0.0;
  std::string gradient_clip_algorithm = "norm";
  int64_t log_every_n_steps = 10;
  std::string output_dir = "runs";
  std::string memory_format = "auto";
  int64_t profile_step = 0;
  double system_metrics_interval = 5.0;
  bool cuda_graph = false;
};
const ParamSpec<RunConfig>& run_spec();

/// [fabric.fsdp]: the fsdp strategy's options (fabric::FSDPOptions).
struct FsdpConfig {
  std::string sharding_strategy = "FULL_SHARD";
  std::string state_dict_type = "full";
  std::string unit = "block";
};
const ParamSpec<FsdpConfig>& fsdp_spec();

struct FabricConfig {
  std::string accelerator = "auto";
  IntOrString devices{std::nullopt, "auto"};
  int64_t num_nodes = 1;
  std::string strategy = "auto";
  IntOrString precision{std::nullopt, "32-true"};
  FsdpConfig fsdp{};
};
const ParamSpec<FabricConfig>& fabric_spec();

/// [sweep]: how `fabric-exp sweep` explores the recipe. [sweep.parameters] is the search space
/// (exp/recipe/search_space.hpp); `fabric-exp run` ignores the table.
struct SweepConfig {
  std::string method = "grid";
  std::optional<std::string> objective{};
  std::optional<std::string> direction{};
  std::string summary = "last";
  std::optional<int64_t> max_trials{};
  int64_t parallel = 1;
  int64_t seed = 0;
  int64_t startup_trials = 10;
  bool multivariate = true;
  bool constant_liar = true;
  std::string pruner = "none";
  int64_t pruner_startup_trials = 5;
  int64_t pruner_warmup = 0;
  int64_t min_resource = 1;
  int64_t reduction_factor = 3;
  std::string launcher = "local";
};
const ParamSpec<SweepConfig>& sweep_spec();

}  // namespace fabric::exp
