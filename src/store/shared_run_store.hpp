// One connection to the run store for every thread of a process: a training run's own calls,
// its metric writer's thread and its trial pruner take turns on it, so a process holds one
// connection (a PostgreSQL server's max_connections counts processes, not their threads).
#pragma once

#include <mutex>
#include <string>
#include <utility>

#include "store/run_store.hpp"

namespace fabric::store {

class SharedRunStore {
 public:
  explicit SharedRunStore(const std::string& location) : store_(location) {}

  /// Runs `use` on the store while no other thread uses it; returns what `use` returns. A
  /// transaction begun inside `use` ends inside it.
  template <class Use>
  decltype(auto) with(Use&& use) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::forward<Use>(use)(store_);
  }

 private:
  std::mutex mu_;
  RunStore store_;
};

}  // namespace fabric::store
