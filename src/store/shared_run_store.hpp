// One connection to the run store for every thread of a process: a training run's own calls,
// its metric writer's thread and its trial pruner take turns on it, and so do the web UI's
// request threads, so a process holds one connection (a PostgreSQL server's max_connections
// counts processes, not their threads).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "store/run_store.hpp"

namespace fabric::store {

class SharedRunStore {
 public:
  explicit SharedRunStore(const std::string& location)
      : store_(std::make_unique<RunStore>(location)) {}
  /// Shares a store already opened (read-only, say).
  explicit SharedRunStore(std::unique_ptr<RunStore> store) : store_(std::move(store)) {}

  /// Runs `use` on the store while no other thread uses it; returns what `use` returns. A
  /// transaction begun inside `use` ends inside it.
  template <class Use>
  decltype(auto) with(Use&& use) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::forward<Use>(use)(*store_);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<RunStore> store_;
};

}  // namespace fabric::store
