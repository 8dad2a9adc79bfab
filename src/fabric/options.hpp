// Constructor options of fabric::Fabric, mirroring Lightning's keyword arguments:
//
//   fabric::Fabric fabric({.accelerator = "cuda", .devices = 2, .precision = "bf16-mixed"});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabric/strategies/fsdp_options.hpp"

namespace fabric {

class Callback;
class Logger;

/// `devices=`: "auto", a count (2, "2"), all GPUs (-1, "-1"), or indices ("0,1", {0, 1}).
class Devices {
 public:
  Devices() = default;  // "auto"
  Devices(int count);
  Devices(const char* spec) : Devices(std::string(spec)) {}
  Devices(std::string spec);
  Devices(std::vector<int> indices);

  bool is_auto() const { return is_auto_; }
  /// Set for an int or a digit string.
  std::optional<int> count() const { return count_; }
  /// Set for an index list or a comma-separated string.
  const std::optional<std::vector<int>>& indices() const { return indices_; }
  /// The value as the user wrote it, for messages.
  const std::string& text() const { return text_; }

 private:
  bool is_auto_ = true;
  std::optional<int> count_;
  std::optional<std::vector<int>> indices_;
  std::string text_ = "auto";
};

/// `precision=`: a full name ("bf16-mixed") or a legacy alias (32, 16, 64, "bf16"); unset =
/// "32-true".
class PrecisionInput {
 public:
  PrecisionInput() = default;
  PrecisionInput(int legacy) : text_(std::to_string(legacy)), set_(true) {}
  PrecisionInput(const char* name) : text_(name), set_(true) {}
  PrecisionInput(std::string name) : text_(std::move(name)), set_(true) {}

  bool is_set() const { return set_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_ = "32-true";
  bool set_ = false;
};

struct FabricOptions {
  /// "auto", "cpu", "cuda" or "gpu".
  std::string accelerator = "auto";
  /// "auto", "ddp", "ddp_spawn", "ddp_fork", "dp", ... (case-insensitive).
  std::string strategy = "auto";
  /// Devices per node.
  Devices devices{};
  /// Number of nodes (>= 1).
  int num_nodes = 1;
  PrecisionInput precision{};
  /// Used when strategy is "fsdp".
  FSDPOptions fsdp{};
  std::vector<std::shared_ptr<Callback>> callbacks{};
  std::vector<std::shared_ptr<Logger>> loggers{};
};

}  // namespace fabric
