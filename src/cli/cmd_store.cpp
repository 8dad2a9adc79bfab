// `fabric-exp store copy SRC DST [--where ...]`: runs and sweeps from one store to another, a
// laptop's SQLite file into the team's PostgreSQL or back.
#include <iostream>

#include "cli/commands.hpp"
#include "present/open_store.hpp"
#include "store/query.hpp"
#include "store/store_copy.hpp"

namespace fabric::cli {

using namespace present;  // tables, JSON, dates and the store as the terminal shows them

void add_store_commands(CLI::App& app) {
  auto* store = app.add_subcommand("store", "Work on whole run stores");
  store->require_subcommand(1);
  auto* copy = store->add_subcommand(
      "copy",
      "Copy runs (parameters, tags, metrics, artifacts' records) and their sweeps from SRC to DST; "
      "what DST already has is left as it is, so copying twice copies nothing twice");
  auto source = std::make_shared<std::string>();
  auto destination = std::make_shared<std::string>();
  auto where = std::make_shared<std::string>();
  copy->add_option("src", *source, "The store to copy from: a SQLite file or a postgresql:// URL")
      ->required();
  copy->add_option("dst", *destination, "The store to copy into (created if it does not exist)")
      ->required();
  copy->add_option("--where", *where,
                   "Only the runs this filter selects (as `runs --where`), and their sweeps");
  register_action(copy, [=] {
    auto from = open_store(*source);
    // Every check before the destination is created: a bad filter leaves no empty store behind.
    if (!where->empty()) store::compile_filter(*where, from->db().dialect());
    store::check_store_location(*destination);
    store::RunStore to(*destination);
    const auto n = store::copy_store(*from, to, *where);
    std::cout << "copied " << n.runs_copied << " run(s) (" << n.metric_points
              << " metric points) and " << n.sweeps_copied << " sweep(s) into " << to.path();
    if (n.runs_present || n.sweeps_present)
      std::cout << "; " << n.runs_present << " run(s) and " << n.sweeps_present
                << " sweep(s) were there already";
    if (n.artifacts_refused)
      std::cout << "; " << n.artifacts_refused
                << " artifact row(s) not copied: their path is outside their run's folder";
    std::cout << "\n";
    return 0;
  });
}

}  // namespace fabric::cli
