#include "fabric/connector.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "common/log.hpp"
#include "fabric/launcher/environment.hpp"
#include "fabric/strategies/fsdp.hpp"

namespace fabric {

// ---- Devices ------------------------------------------------------------------------------

Devices::Devices(int count) : is_auto_(false), count_(count), text_(std::to_string(count)) {}

Devices::Devices(std::vector<int> indices) : is_auto_(false), indices_(std::move(indices)) {
  text_ = "[";
  for (size_t i = 0; i < indices_->size(); ++i)
    text_ += (i ? ", " : "") + std::to_string((*indices_)[i]);
  text_ += "]";
}

Devices::Devices(std::string spec) : text_(spec) {
  std::string s;
  for (char c : spec) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  }
  if (s == "auto") return;
  is_auto_ = false;
  auto is_int = [](const std::string& x) {
    size_t start = (!x.empty() && x[0] == '-') ? 1 : 0;
    return x.size() > start && std::all_of(x.begin() + long(start), x.end(), ::isdigit);
  };
  if (is_int(s)) {
    count_ = std::stoi(s);
    return;
  }
  if (s.find(',') != std::string::npos) {
    std::vector<int> ids;
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t comma = s.find(',', pos);
      std::string part =
          s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!part.empty()) {
        if (!is_int(part))
          throw TypeError("devices='" + spec + "': '" + part + "' is not a device index");
        ids.push_back(std::stoi(part));
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    indices_ = std::move(ids);
    return;
  }
  throw TypeError("devices='" + spec +
                  "' is not valid: use \"auto\", a count, -1, or indices \"0,1\"");
}

// ---- strategy -----------------------------------------------------------------------------

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"auto",
                                                 "ddp",
                                                 "ddp_spawn",
                                                 "ddp_fork",
                                                 "ddp_notebook",
                                                 "ddp_find_unused_parameters_true",
                                                 "dp",
                                                 "fsdp",
                                                 "fsdp_cpu_offload",
                                                 "deepspeed",
                                                 "deepspeed_stage_1",
                                                 "deepspeed_stage_2",
                                                 "deepspeed_stage_3",
                                                 "deepspeed_stage_1_offload",
                                                 "deepspeed_stage_2_offload",
                                                 "deepspeed_stage_3_offload",
                                                 "deepspeed_stage_3_offload_nvme",
                                                 "xla",
                                                 "single_xla",
                                                 "xla_fsdp"};
  return names;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

std::string choose_strategy(std::string name, AcceleratorKind accelerator, size_t devices,
                            int num_nodes) {
  const auto& names = strategy_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    throw ValueError("You selected an invalid strategy name: `strategy='" + name +
                     "'`. Available names are: " + all + ".");
  }
  if (name == "fsdp") return name;
  if (name.rfind("fsdp", 0) == 0 || name.rfind("deepspeed", 0) == 0 ||
      name.find("xla") != std::string::npos) {
    throw NotSupportedError("strategy='" + name + "' is not supported yet; use 'fsdp' or 'ddp'.");
  }
  if (name == "dp") {
    if (accelerator == AcceleratorKind::Cpu) {
      warn(
          "The DataParallelStrategy (dp) does not support CPU. Falling back to the DDP strategy "
          "(ddp).");
      return "ddp";
    }
    throw NotSupportedError(
        "strategy='dp' is not supported yet (it is single-process multi-GPU "
        "replication); use 'ddp'.");
  }
  if (name == "auto") {
    if (num_nodes > 1) return "ddp";
    return devices <= 1 ? "single_device" : "ddp";
  }
  if (name == "ddp_spawn" || name == "ddp_fork" || name == "ddp_notebook") {
    throw NotSupportedError(
        "strategy='" + name +
        "' is not supported yet: C++ cannot send a function to "
        "spawned interpreters and forking after LibTorch started its thread pools is "
        "unsafe. Use 'ddp', which re-executes the program once per device.");
  }
  if (name == "ddp_find_unused_parameters_true") return "ddp";
  return name;
}

}  // namespace

Connection connect(const FabricOptions& options) {
  if (options.num_nodes < 1) {
    throw ValueError("`num_nodes` must be a positive integer, but got " +
                     std::to_string(options.num_nodes) + ".");
  }
  Connection c;
  c.accelerator = resolve_accelerator(options.accelerator);
  ClusterEnvironment env = detect_environment();
  c.devices = parse_devices(options.devices, c.accelerator);
  // devices="auto" under torchrun / srun: one device per process the launcher started on this node
  // (Lightning would count 1 CPU device and then reject the world size).
  if (options.devices.is_auto() && c.accelerator == AcceleratorKind::Cpu &&
      env.creates_processes_externally && env.local_world_size > 0) {
    c.devices.assign(size_t(env.local_world_size), c10::Device(c10::kCPU));
  }
  c.num_nodes = options.num_nodes;
  c.strategy_name =
      choose_strategy(lower(options.strategy), c.accelerator, c.devices.size(), c.num_nodes);
  c.precision = parse_precision(options.precision, c.accelerator);
  if (c.strategy_name == "single_device") {
    c.strategy = std::make_unique<SingleDeviceStrategy>(c.devices.front());
  } else if (c.strategy_name == "fsdp") {
    c.strategy =
        std::make_unique<FSDPStrategy>(c.accelerator, c.devices, c.num_nodes, env, options.fsdp);
  } else {  // "ddp"
    c.strategy = std::make_unique<DDPStrategy>(c.accelerator, c.devices, c.num_nodes, env);
  }
  return c;
}

}  // namespace fabric
