// Sharded checkpoints (fsdp with state_dict_type = "sharded"): a folder with one file per rank,
// each holding that rank's parameter shards and optimizer state, and meta.pt from rank 0 with the
// world size, every parameter's full shape and the entries that are not models or optimizers.
//
//   ckpt/meta.pt  ckpt/rank_0.pt  ckpt/rank_1.pt ...
//
// Read on the same world size, each rank takes its own file. On another world size (or by a
// strategy that does not shard) every rank file is read and each tensor put back together, so
// the checkpoint loads as a consolidated one and is sharded again for the new world.
#pragma once

#include <ATen/core/Dict.h>

#include <memory>
#include <string>
#include <vector>

#include "fabric/checkpoint/state.hpp"
#include "fabric/strategies/strategy.hpp"

namespace fabric {

/// Whether `path` is a folder holding meta.pt.
bool is_sharded_checkpoint(const std::string& path);

/// Writes the folder: collective (every rank writes its file). A file or an older checkpoint at
/// `path` is replaced once every file of the new one is written.
void write_sharded_checkpoint(const std::string& path, const State& state, Strategy& strategy,
                              const std::vector<std::shared_ptr<StrategyModuleState>>& sharded);

/// A save killed between moving the older checkpoint aside (`path`.old) and moving the new one in
/// leaves no `path`: the older one is put back. Returns whether it was. Run by one process.
bool restore_interrupted_swap(const std::string& path);

struct ShardedRead {
  c10::impl::GenericDict dict;
  bool consolidated = false;  // full tensors (load through FullStateScope), else this rank's shards
};

/// `keep_shards`: this process has sharded models on the saved world size, so it can take its
/// own file as it is.
ShardedRead read_sharded_checkpoint(const std::string& path, int rank, int world, bool keep_shards);

}  // namespace fabric
