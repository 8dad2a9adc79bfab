#include "exp/recipe/tables.hpp"

namespace fabric::exp {

const ParamSpec<RunConfig>& run_spec() {
  static const auto spec =
      ParamSpec<RunConfig>(
          "run", "", "What to run: length, validation cadence, accumulation, clipping, output.")
          .param(&RunConfig::name, "name", "Run name (default: the recipe's file name).")
          .param(&RunConfig::experiment, "experiment", "Experiment the run belongs to.")
          .param(&RunConfig::seed, "seed", "Global seed; unset: one is drawn and recorded.")
          .check(ge(0))
          .check(le(4294967295.0))
          .param(&RunConfig::max_epochs, "max_epochs", "Stop after this many epochs.")
          .check(ge(1))
          .param(&RunConfig::max_steps, "max_steps", "Stop after this many optimizer steps.")
          .check(ge(1))
          .param(&RunConfig::val_every_n_epochs, "val_every_n_epochs", "Validate every N epochs.")
          .check(ge(1))
          .param(&RunConfig::val_every_n_steps, "val_every_n_steps",
                 "Also validate every N optimizer steps (0: off).")
          .check(ge(0))
          .param(&RunConfig::accumulate_grad_batches, "accumulate_grad_batches",
                 "Batches per optimizer step.")
          .alias("grad_accum")
          .check(ge(1))
          .param(&RunConfig::gradient_clip_val, "gradient_clip_val",
                 "Clip gradients to this norm or value (0: off).")
          .check(ge(0))
          .param(&RunConfig::gradient_clip_algorithm, "gradient_clip_algorithm", "How to clip.")
          .choices({"norm", "value"})
          .param(&RunConfig::log_every_n_steps, "log_every_n_steps",
                 "Log training metrics every N steps.")
          .check(ge(1))
          .param(&RunConfig::output_dir, "output_dir",
                 "Folder under which each run gets its own folder.")
          .param(&RunConfig::memory_format, "memory_format",
                 "Layout of image batches and convolution weights; auto: channels_last for "
                 "models with 2-D convolutions (faster oneDNN and pooling kernels).")
          .choices({"auto", "channels_last", "contiguous"})
          .param(&RunConfig::profile_step, "profile_step",
                 "Profile this optimizer step (0: none): operators by self time are printed and "
                 "a Chrome trace is written to the run's profile.json.")
          .check(ge(0))
          .param(&RunConfig::system_metrics_interval, "system_metrics_interval",
                 "Seconds between samples of the sys/ metrics: the process's CPU % and resident "
                 "memory and, on CUDA, its device's memory in use and utilisation (0: off).")
          .check(ge(0))
          .param(&RunConfig::cuda_graph, "cuda_graph",
                 "Capture the training step in a CUDA graph (static shapes). Not supported yet.");
  return spec;
}

const ParamSpec<FsdpConfig>& fsdp_spec() {
  static const auto spec =
      ParamSpec<FsdpConfig>("fabric.fsdp", "",
                            "Sharded training (strategy = \"fsdp\"): what each rank keeps.")
          .param(&FsdpConfig::sharding_strategy, "sharding_strategy",
                 "FULL_SHARD: parameters, gradients and optimizer state sharded (ZeRO-3); "
                 "SHARD_GRAD_OP: gradients and optimizer state (ZeRO-2); NO_SHARD: as ddp.")
          .choices({"FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD"})
          .param(&FsdpConfig::state_dict_type, "state_dict_type",
                 "Checkpoints: full writes one consolidated file from rank 0, which Python's "
                 "torch.load reads and every strategy resumes from; sharded writes a folder with "
                 "one file per rank (no rank holds the whole model), resumable on any number of "
                 "processes.")
          .choices({"full", "sharded"})
          .param(&FsdpConfig::unit, "unit",
                 "What is gathered at a time: block (transformer_lm's decoder blocks, resnet's "
                 "residual blocks, each layer of mlp, cnn and sequential) or model (the whole "
                 "model at once).")
          .choices({"block", "model"});
  return spec;
}

const ParamSpec<FabricConfig>& fabric_spec() {
  static const auto spec =
      ParamSpec<FabricConfig>("fabric", "", "Where and how the loop runs (fabric::FabricOptions).")
          .param(&FabricConfig::accelerator, "accelerator", "Device kind.")
          .choices({"auto", "cpu", "cuda", "gpu"})
          .param(&FabricConfig::devices, "devices",
                 "Devices per node: a count, -1, \"auto\" or indices \"0,1\".")
          .param(&FabricConfig::num_nodes, "num_nodes", "Number of nodes.")
          .check(ge(1))
          .param(&FabricConfig::strategy, "strategy",
                 "Distribution strategy: ddp replicates the model on every process; fsdp shards "
                 "it ([fabric.fsdp]).")
          .choices({"auto", "ddp", "dp", "fsdp"})
          .param(&FabricConfig::precision, "precision", "Numeric precision.")
          .choices({"32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "32",
                    "16", "64", "bf16"})
          .sub_table(&FabricConfig::fsdp, "fsdp", "The fsdp strategy's options.", fsdp_spec());
  return spec;
}

const ParamSpec<SweepConfig>& sweep_spec() {
  static const auto spec =
      ParamSpec<SweepConfig>("sweep", "",
                             "How `fabric-exp sweep` explores the recipe (ignored by `run`).")
          .param(&SweepConfig::method, "method",
                 "grid: every combination; random: independent draws; tpe: Optuna's "
                 "tree-structured Parzen estimator.")
          .choices({"grid", "random", "tpe"})
          .param(&SweepConfig::objective, "objective",
                 "Metric that ranks trials, e.g. \"val/accuracy\" (needed by tpe and pruning).")
          .param(&SweepConfig::direction, "direction", "Whether a higher objective is better.")
          .choices({"maximize", "minimize"})
          .param(&SweepConfig::summary, "summary",
                 "Which value of the objective's curve ranks a trial.")
          .choices({"last", "min", "max"})
          .param(&SweepConfig::max_trials, "max_trials",
                 "Trials to run (grid: at most the grid's size, which is the default).")
          .check(ge(1))
          .param(&SweepConfig::parallel, "parallel", "Trials running at once, each a process.")
          .check(ge(1))
          .param(&SweepConfig::seed, "seed", "Seed of the sampler (random, tpe).")
          .check(ge(0))
          .param(&SweepConfig::startup_trials, "startup_trials",
                 "tpe: random trials before the model proposes.")
          .check(ge(1))
          .param(&SweepConfig::multivariate, "multivariate",
                 "tpe: model all parameters jointly (Optuna's multivariate TPE), so values "
                 "that work together are proposed together; false models each on its own "
                 "(Optuna's default).")
          .param(&SweepConfig::constant_liar, "constant_liar",
                 "tpe: count running trials as the worst ended ones, so trials proposed while "
                 "others run (parallel > 1, sweep work) spread out instead of repeating a point.")
          .param(&SweepConfig::pruner, "pruner",
                 "Stop unpromising trials at validation: median (Optuna's MedianPruner) or asha "
                 "(asynchronous successive halving).")
          .choices({"none", "median", "asha"})
          .param(&SweepConfig::pruner_startup_trials, "pruner_startup_trials",
                 "median: finished trials needed before any pruning.")
          .check(ge(0))
          .param(&SweepConfig::pruner_warmup, "pruner_warmup",
                 "median: validations of a trial before it may be pruned.")
          .check(ge(0))
          .param(&SweepConfig::min_resource, "min_resource",
                 "asha: validations at the first rung (rung r is at min_resource * "
                 "reduction_factor^r).")
          .check(ge(1))
          .param(&SweepConfig::reduction_factor, "reduction_factor",
                 "asha: a trial continues past a rung when in the top 1/reduction_factor there.")
          .check(ge(2))
          .param(&SweepConfig::launcher, "launcher",
                 "local: child processes; slurm: a job array script whose tasks run the trials.")
          .choices({"local", "slurm"})
          .free_table(
              "parameters",
              "The search space: recipe key -> a list of values, or a table { distribution, "
              "min, max } with distribution uniform, log_uniform, int_uniform or "
              "int_log_uniform.");
  return spec;
}

}  // namespace fabric::exp
