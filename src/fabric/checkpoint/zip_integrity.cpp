#include "fabric/checkpoint/zip_integrity.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstdio>

namespace fabric {

namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

/// Little-endian reads that refuse to run past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool fits(uint64_t at, uint64_t n) const {
    return at <= bytes_.size() && n <= bytes_.size() - at;
  }
  uint64_t le(uint64_t at, int n) const {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(bytes_[at + uint64_t(i)]);
    return v;
  }
  uint32_t u32(uint64_t at) const { return uint32_t(le(at, 4)); }
  uint16_t u16(uint64_t at) const { return uint16_t(le(at, 2)); }
  uint64_t u64(uint64_t at) const { return le(at, 8); }
  std::string_view view(uint64_t at, uint64_t n) const { return bytes_.substr(at, n); }
  uint64_t size() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

std::string hex32(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

}  // namespace

ZipCheck check_zip(std::string_view bytes) {
  using V = ZipCheck::Verdict;
  const Reader r(bytes);
  // The end-of-directory record: 22 bytes plus a comment of at most 64 KiB, at the very end.
  if (r.size() < 22)
    return {V::NotZip, "too short to be a zip archive (" + std::to_string(r.size()) + " bytes)"};
  uint64_t eocd = UINT64_MAX;
  const uint64_t lowest = r.size() > 22 + 65535 ? r.size() - 22 - 65535 : 0;
  for (uint64_t at = r.size() - 22 + 1; at-- > lowest;) {
    if (r.u32(at) == kEndOfDirectory) {
      eocd = at;
      break;
    }
  }
  if (eocd == UINT64_MAX)
    return {V::NotZip, "no zip directory at its end (truncated, or not a torch.save file)"};
  uint64_t entries = r.u16(eocd + 10);
  uint64_t dir_size = r.u32(eocd + 12);
  uint64_t dir_offset = r.u32(eocd + 16);
  if (entries == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff) {
    if (eocd < 20 || r.u32(eocd - 20) != kZip64Locator)
      return {V::Damaged, "zip64 locator missing"};
    const uint64_t end64 = r.u64(eocd - 20 + 8);
    if (!r.fits(end64, 56) || r.u32(end64) != kZip64End)
      return {V::Damaged, "zip64 directory end missing"};
    entries = r.u64(end64 + 32);
    dir_size = r.u64(end64 + 40);
    dir_offset = r.u64(end64 + 48);
  }
  if (!r.fits(dir_offset, dir_size))
    return {V::Damaged, "its zip directory lies past the end of the file"};

  uint64_t at = dir_offset;
  for (uint64_t i = 0; i < entries; ++i) {
    if (!r.fits(at, 46) || r.u32(at) != kDirectoryEntry)
      return {V::Damaged, "zip directory entry " + std::to_string(i) + " is damaged"};
    const uint16_t method = r.u16(at + 10);
    const uint32_t crc = r.u32(at + 16);
    uint64_t compressed = r.u32(at + 20), uncompressed = r.u32(at + 24);
    const uint16_t name_len = r.u16(at + 28), extra_len = r.u16(at + 30),
                   comment_len = r.u16(at + 32);
    uint64_t local = r.u32(at + 42);
    if (!r.fits(at + 46, uint64_t(name_len) + extra_len + comment_len))
      return {V::Damaged, "zip directory entry " + std::to_string(i) + " is damaged"};
    const std::string name(r.view(at + 46, name_len));
    // Zip64 sizes and offset, in that order, for the fields that overflowed.
    for (uint64_t e = at + 46 + name_len, end = e + extra_len; e + 4 <= end;) {
      const uint16_t id = r.u16(e), len = r.u16(e + 2);
      if (id == 0x0001) {
        uint64_t f = e + 4;
        if (uncompressed == 0xffffffff && f + 8 <= e + 4 + len) uncompressed = r.u64(f), f += 8;
        if (compressed == 0xffffffff && f + 8 <= e + 4 + len) compressed = r.u64(f), f += 8;
        if (local == 0xffffffff && f + 8 <= e + 4 + len) local = r.u64(f);
      }
      e += 4 + uint64_t(len);
    }
    if (!r.fits(local, 30) || r.u32(local) != kLocalHeader)
      return {V::Damaged, "record '" + name + "' has no header where the directory says"};
    const uint64_t data = local + 30 + r.u16(local + 26) + r.u16(local + 28);
    if (!r.fits(data, compressed))
      return {V::Damaged, "record '" + name + "' runs past the end of the file"};
    if (method == 0) {  // stored, as torch.save writes every record
      if (compressed != uncompressed)
        return {V::Damaged, "record '" + name + "' has inconsistent sizes"};
      uint64_t got = crc32(0L, Z_NULL, 0);
      for (uint64_t done = 0; done < compressed;) {
        const uint64_t n = std::min<uint64_t>(compressed - done, 1u << 30);
        got = crc32(got, reinterpret_cast<const Bytef*>(bytes.data() + data + done), uInt(n));
        done += n;
      }
      if (uint32_t(got) != crc) {
        return {V::Damaged, "record '" + name + "' does not match its CRC-32 (stored " +
                                hex32(crc) + ", bytes give " + hex32(uint32_t(got)) +
                                "): its bytes were changed after it was written"};
      }
    }
    at += 46 + uint64_t(name_len) + extra_len + comment_len;
  }
  return {};
}

}  // namespace fabric
