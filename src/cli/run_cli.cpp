// What both binaries share: parsing (one value per option, unknown commands named), running the
// selected command, and the mapping of errors to exit statuses (0 success, 1 runtime failure,
// 2 recipe or usage error).
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <map>
#include <system_error>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/printable.hpp"
#include "exp/diag/diagnostic.hpp"
#include "exp/recipe/recipe.hpp"
#include "store/database.hpp"
#include "store/query.hpp"

namespace {

/// Every option takes its own value only: `--tag a=1 optimizer.lr=1e-3` is one tag and one
/// override. CLI11 lets a vector option swallow the words after it; repeating the option is the
/// way to give several values.
void one_value_per_option(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (!opt->get_positional()) opt->allow_extra_args(false);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    one_value_per_option(*sub);
}

/// `fabric-exp bogus`: the unknown word and the closest command, rather than CLI11's
/// "A subcommand is required".
bool unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  const std::string word = argv[1];
  std::vector<std::string> names;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == word) return false;
    names.push_back(sub->get_name());
  }
  std::cerr << "fabric-exp: unknown command '" << word << "'";
  auto close = fabric::exp::suggest(word, names, 1);
  if (!close.empty()) std::cerr << "; did you mean '" << close.front() << "'?";
  std::cerr << "\nRun 'fabric-exp --help' for the commands.\n";
  return true;
}

std::map<CLI::App*, std::function<int()>>& actions() {
  static std::map<CLI::App*, std::function<int()>> a;
  return a;
}

}  // namespace

namespace fabric::cli {

void register_action(CLI::App* sub, std::function<int()> action) {
  actions()[sub] = std::move(action);
}

int run_selected(CLI::App& app) {
  CLI::App* selected = &app;  // the deepest subcommand given: `config show` runs show
  while (!selected->get_subcommands().empty()) selected = selected->get_subcommands().front();
  auto it = actions().find(selected);
  return it == actions().end() ? 2 : it->second();
}

int run_cli(int argc, char** argv, const std::function<void(CLI::App&)>& add_commands,
            const std::function<exp::MachineInfo()>& machine) {
  // Output errors never stop a command: `fabric-exp run ... | head` loses output, not the run.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"fabric-exp: recipes compiled into training loops on the Fabric library"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fabric-exp ") + kVersion);
  add_commands(app);
  one_value_per_option(app);
  if (unknown_command(app, argc, argv)) return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    exp::set_machine_info(machine());
    return fabric::cli::run_selected(app);
  } catch (const fabric::exp::RecipeError& e) {
    std::cerr << e.what();  // rendered diagnostics, already escaped
    return 2;
  } catch (const fabric::store::QueryError& e) {
    std::cerr << "fabric-exp: error: " << fabric::printable(e.what(), true) << "\n";
    return 2;
  } catch (const fabric::UsageError& e) {
    std::cerr << "fabric-exp: error: " << fabric::printable(e.what(), true) << "\n";
    return 2;
  } catch (const fabric::store::StoreError& e) {
    std::cerr << "fabric-exp: error: " << fabric::printable(e.what(), true) << "\n";
    return 1;
  } catch (const fabric::Error& e) {
    std::cerr << "fabric-exp: error: " << fabric::printable(e.what(), true) << "\n";
    return 1;
  } catch (const std::system_error& e) {
    // The environment (permissions, a full disk, a read-only mount, a missing file): the message
    // names the path. "internal error" is kept for bugs.
    std::cerr << "fabric-exp: error: " << fabric::printable(e.what(), true) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "fabric-exp: internal error: " << fabric::printable(e.what(), true) << "\n";
    return 1;
  }
}

}  // namespace fabric::cli
