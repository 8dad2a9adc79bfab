// Checkpoint files: a torch.save-compatible pickle archive (zip) of one dict, written atomically
// (temporary file in the same folder, fsync, rename, fsync of the folder), so a crash never leaves
// a truncated file under the final name. Python reads them with torch.load.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

#include "fabric/utilities/atomic_write.hpp"

namespace fabric {

void write_checkpoint_file(const std::string& path, const c10::IValue& value);
c10::IValue read_checkpoint_file(const std::string& path);

}  // namespace fabric
