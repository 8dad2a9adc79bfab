// `fabric-exp run`: load and validate the recipe, create the run (store row and folder), launch
// Fabric, train, and record how it ended. Exit status: 0 finished, 1 runtime failure, 2 recipe
// error (thrown as exp::RecipeError), 128+signal when interrupted (a checkpoint was written).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fabric::engine {

struct RunRequest {
  std::string recipe{};                  // the recipe file ("" with resume)
  std::vector<std::string> overrides{};  // a.b=v ...
  std::string store{};                   // "" : FABRIC_EXP_STORE or runs/fabric-exp.db
  std::string resume{};                  // a run id, prefix or "last" ("" : a new run)
  std::vector<std::string> tags{};       // key=value
  std::string note{};
  std::string parent{};           // the run this one reruns
  std::optional<int64_t> seed{};  // forces run.seed (rerun)
  std::string sweep_id{};         // this run is trial `trial` of that sweep
  int64_t trial = -1;
  std::string sweep_name{};  // a trial's run is named <sweep name>-t<trial>
};

int run_recipe(const RunRequest& request);

/// Whether this process is global rank 0 as far as the environment tells before launch (the
/// launcher's other ranks re-execute the same command line with RANK set).
bool env_rank_zero();

}  // namespace fabric::engine
