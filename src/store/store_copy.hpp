// `fabric-exp store copy SRC DST`: runs (with their parameters, tags, metrics, summaries and
// artifacts' records) and sweeps (with their trials and rungs) from one store to another, either
// backend to either. Each run and each sweep goes over in one transaction of the destination,
// whole or not at all; what the destination already has (by id) is left as it is, so copying
// twice copies nothing twice.
#pragma once

#include <cstdint>
#include <string>

#include "store/run_store.hpp"

namespace fabric::store {

struct CopyCounts {
  int64_t runs_copied = 0, runs_present = 0;
  int64_t sweeps_copied = 0, sweeps_present = 0;
  int64_t metric_points = 0;
  int64_t artifacts_refused = 0;  // rows whose path is outside their run's folder
};

/// Copies the runs that `where` (the --where language; "" for all) selects, then the sweeps that
/// have a trial among the selected runs (every sweep when `where` is empty). A trial whose run
/// the destination does not have keeps its record without the link.
CopyCounts copy_store(RunStore& source, RunStore& destination, const std::string& where);

}  // namespace fabric::store
