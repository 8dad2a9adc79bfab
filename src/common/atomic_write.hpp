// Writing a file so that a crash never leaves it truncated under its final name: a temporary
// file in the same folder, fsync, rename, fsync of the folder. No LibTorch: checkpoints, loggers,
// run folders and sweep folders all write through it.
#pragma once

#include <cstddef>
#include <string>

namespace fabric {

/// Writes `size` bytes to `path` atomically, creating its folder; throws fabric::Error.
void atomic_write(const std::string& path, const char* data, size_t size);
inline void atomic_write(const std::string& path, const std::string& text) {
  atomic_write(path, text.data(), text.size());
}

}  // namespace fabric
