// Turns FabricOptions into concrete choices, in Lightning's _Connector order: accelerator,
// devices, strategy (with its fallbacks), precision.
#pragma once

#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "fabric/accelerators/accelerator.hpp"
#include "fabric/options.hpp"
#include "fabric/precision/precision.hpp"
#include "fabric/strategies/strategy.hpp"

namespace fabric {

struct Connection {
  AcceleratorKind accelerator{};
  std::vector<c10::Device> devices{};  // this node's
  int num_nodes = 1;
  std::string strategy_name{};  // normalised ("single_device", "ddp", ...)
  PrecisionMode precision{};
  std::unique_ptr<Strategy> strategy{};
};

/// Names fabric accepts for `strategy`, for messages and docs.
const std::vector<std::string>& strategy_names();

Connection connect(const FabricOptions& options);

}  // namespace fabric
