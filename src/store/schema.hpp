// The run store's schema, versioned. Migration k turns version k-1 into version k; opening a store
// applies the ones it lacks, in one transaction each.
#pragma once

#include <string>
#include <vector>

namespace fabric::store {

/// The SQL of each migration, index 0 creating version 1.
const std::vector<std::string>& migrations();
inline int current_schema_version() {
  return int(migrations().size());
}
/// The current schema as one SQL script (schemas/store.sql is this text).
std::string schema_sql();

}  // namespace fabric::store
