// fabric-exp: the command-line front. Only argument parsing and exit codes live here; each
// subcommand is one cmd_*.cpp.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/recipe.hpp"
#include "fabric/accelerators/accelerator.hpp"
#include "fabric/error.hpp"
#include "fabric/utilities/heap_tuning.hpp"
#include "store/query.hpp"
#include "store/sqlite.hpp"

int main(int argc, char** argv) {
  fabric::keep_large_blocks_in_heap();
  CLI::App app{"fabric-exp: recipes compiled into training loops on the Fabric library"};
  app.require_subcommand(1);
  fabric::cli::add_version_command(app);
  fabric::cli::add_env_command(app);
  fabric::cli::add_recipe_commands(app);
  fabric::cli::add_run_command(app);
  fabric::cli::add_runs_commands(app);
  fabric::cli::add_compare_commands(app);
  fabric::cli::add_rerun_command(app);
  fabric::cli::add_sweep_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    fabric::exp::set_machine_info({fabric::cuda_device_count()});
    return fabric::cli::run_selected(app);
  } catch (const fabric::exp::RecipeError& e) {
    std::cerr << e.what();
    return 2;
  } catch (const fabric::store::QueryError& e) {
    std::cerr << "fabric-exp: error: " << e.what() << "\n";
    return 2;
  } catch (const fabric::store::StoreError& e) {
    std::cerr << "fabric-exp: error: " << e.what() << "\n";
    return 1;
  } catch (const fabric::Error& e) {
    std::cerr << "fabric-exp: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "fabric-exp: internal error: " << e.what() << "\n";
    return 1;
  }
}
