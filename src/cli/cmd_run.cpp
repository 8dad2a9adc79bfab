// `fabric-exp run RECIPE [overrides] | --resume RUN`.
#include "cli/commands.hpp"
#include "engine/run.hpp"

namespace fabric::cli {

void add_run_command(CLI::App& app) {
  auto* sub = app.add_subcommand("run", training_command_help("run"));
  auto request = std::make_shared<engine::RunRequest>();
  sub->add_option("recipe", request->recipe, "Recipe file");
  sub->add_option("overrides", request->overrides, "Overrides: a.b=v, +a.b=v, ++a.b=v, ~a.b");
  sub->add_option("--resume", request->resume,
                  "Continue an interrupted run from its last checkpoint (id, prefix or 'last')");
  add_store_option(sub, request->store);
  sub->add_option("--tag", request->tags, "Tag the run: key=value (repeatable)");
  sub->add_option("--note", request->note, "A free-text note stored with the run");
  register_action(sub, [request] {
    if (request->recipe.empty() && request->resume.empty()) {
      std::cerr << "fabric-exp run: give a recipe file, or --resume RUN\n";
      return 2;
    }
    return engine::run_recipe(*request);
  });
}

}  // namespace fabric::cli
