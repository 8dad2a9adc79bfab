// fabric-exp-train: every command of fabric-exp, with LibTorch. fabric-exp hands it the commands
// that train; it also runs the others, so it can be used alone.

#include "cli/commands.hpp"
#include "exp/recipe/recipe.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/utilities/heap_tuning.hpp"

int main(int argc, char** argv) {
  fabric::keep_large_blocks_in_heap();
  using namespace fabric::cli;
  return run_cli(
      argc, argv,
      [](CLI::App& app) {
        add_shared_commands(app);
        add_run_command(app);
        add_rerun_command(app);
        add_env_command(app);
        add_sweep_trial_command(*app.get_subcommand("sweep"));
        add_completion_command(app);
      },
      [] { return fabric::exp::MachineInfo{fabric::cuda_device_count()}; });
}
