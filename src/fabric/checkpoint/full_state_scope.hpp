// FullStateScope: a sharded model's full parameters in place, and optimizer state mapped to and
// from its full form, while a consolidated checkpoint is written or read.
#pragma once

#include <memory>
#include <vector>

#include "fabric/checkpoint/optimizer_state.hpp"
#include "fabric/strategies/strategy.hpp"

namespace fabric {

/// Collective on entry (every rank gathers); leaving copies loaded values into the shards only
/// after commit().
class FullStateScope {
 public:
  explicit FullStateScope(std::vector<std::shared_ptr<StrategyModuleState>> models);
  ~FullStateScope();
  FullStateScope(const FullStateScope&) = delete;
  FullStateScope& operator=(const FullStateScope&) = delete;
  void commit() { committed_ = true; }

 private:
  at::Tensor map(const at::Tensor& param, const at::Tensor& value, bool to_file);

  std::vector<std::shared_ptr<StrategyModuleState>> models_;
  OptimizerStateMapping mapping_;
  bool committed_ = false;
};

}  // namespace fabric
