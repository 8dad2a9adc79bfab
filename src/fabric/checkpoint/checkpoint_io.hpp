// Checkpoint files: a torch.save-compatible pickle archive (zip) of one dict, written atomically
// (temporary file in the same folder, fsync, rename, fsync of the folder), so a crash never leaves
// a truncated file under the final name. Python reads them with torch.load.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

#include "common/atomic_write.hpp"

namespace fabric {

/// torch.save's zip format, with plain (untyped) containers only, so Python's
/// torch.load(path, weights_only=True) reads it. LibTorch's pickle_load reads it back too.
std::vector<char> pickle_for_python(const c10::IValue& value);
void write_checkpoint_file(const std::string& path, const c10::IValue& value);
c10::IValue read_checkpoint_file(const std::string& path);
/// The value in the bytes of a torch.save file, Python's OrderedDicts as plain dicts (LibTorch's
/// pickle_load alone reads those as None). Throws c10::Error as pickle_load does.
c10::IValue unpickle_torch_save(const std::vector<char>& bytes);

}  // namespace fabric
