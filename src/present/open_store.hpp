// How the query commands reach the run store.
#pragma once

#include <memory>
#include <string>

#include "store/run_store.hpp"

namespace fabric::present {

/// --store if given, else FABRIC_EXP_STORE, else runs/fabric-exp.db.
std::string store_path(const std::string& given);
/// Opens an existing store (a query never creates one) and marks runs whose process died as
/// failed, so that what is shown is true.
std::unique_ptr<store::RunStore> open_store(const std::string& given);
/// "a, b, c": the metric keys a run has, for messages about a missing one.
std::string metric_keys(store::RunStore& store, const std::string& id);

}  // namespace fabric::present
