// One run as a JSON object: what `fabric-exp show --format json` prints and `/api/runs/<id>`
// answers.
#pragma once

#include <string>

#include "store/run_store.hpp"

namespace fabric::present {

/// Everything `show` shows, numbers as numbers, times as seconds since the epoch.
std::string run_json(store::RunStore& store, const store::RunRecord& run);

}  // namespace fabric::present
