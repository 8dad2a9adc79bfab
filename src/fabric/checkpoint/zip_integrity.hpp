// Integrity of a torch.save archive before anything in it is trusted. LibTorch's reader does not
// compare a record's bytes with the CRC-32 the zip stores for it, so a checkpoint whose tensor
// bytes were overwritten in place would load silently. No LibTorch here: zlib's crc32 only.
#pragma once

#include <string>
#include <string_view>

namespace fabric {

struct ZipCheck {
  enum class Verdict {
    Sound,    // every stored record matches its CRC-32 and the directory is whole
    NotZip,   // no zip archive at all (too short, no directory at its end)
    Damaged,  // a zip archive whose bytes changed or are cut: `problem` says where
  } verdict = Verdict::Sound;
  std::string problem{};  // for a message that names the file
  bool sound() const { return verdict == Verdict::Sound; }
};

ZipCheck check_zip(std::string_view bytes);

}  // namespace fabric
