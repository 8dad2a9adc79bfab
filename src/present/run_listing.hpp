// The runs listing as `fabric-exp runs` and the web UI show it: the store's query with each value
// as people read it (times in local time, durations to a tenth of a second, the headline metric
// to 4 significant digits), the same from either backend.
#pragma once

#include "store/run_query.hpp"

namespace fabric::present {

/// store::select_runs, its values shown. Throws store::QueryError as it does.
store::QueryResult list_runs(store::RunStore& store, const store::RunQuery& query);

}  // namespace fabric::present
