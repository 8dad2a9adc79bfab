#include "fabric/data/idx.hpp"

#include <zlib.h>

#include <filesystem>
#include <memory>

#include "common/error.hpp"

namespace fabric::data {

at::Tensor read_idx(const std::string& path) {
  if (!std::filesystem::exists(path)) throw FileNotFoundError("IDX file not found: " + path);
  // gzread reads plain files transparently, so one path serves .gz and raw IDX.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw Error("cannot open IDX file '" + path + "'");
  auto read_exact = [&](void* buf, size_t n) -> size_t {
    size_t done = 0;
    while (done < n) {
      int got = gzread(f.get(), static_cast<char*>(buf) + done,
                       unsigned(std::min<size_t>(n - done, 1u << 30)));
      if (got < 0) {
        int err = 0;
        throw Error("'" + path + "': corrupt compressed data: " + gzerror(f.get(), &err));
      }
      if (got == 0) break;
      done += size_t(got);
    }
    return done;
  };
  unsigned char magic[4];
  if (read_exact(magic, 4) != 4 || magic[0] != 0 || magic[1] != 0) {
    throw Error("'" + path + "' is not an IDX file (bad magic number)");
  }
  at::ScalarType dtype;
  size_t elem;
  switch (magic[2]) {
    case 0x08:
      dtype = at::kByte, elem = 1;
      break;
    case 0x09:
      dtype = at::kChar, elem = 1;
      break;
    case 0x0B:
      dtype = at::kShort, elem = 2;
      break;
    case 0x0C:
      dtype = at::kInt, elem = 4;
      break;
    case 0x0D:
      dtype = at::kFloat, elem = 4;
      break;
    case 0x0E:
      dtype = at::kDouble, elem = 8;
      break;
    default:
      throw Error("'" + path + "': unknown IDX element type " + std::to_string(magic[2]));
  }
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 8) throw Error("'" + path + "': bad IDX rank " + std::to_string(ndim));
  std::vector<int64_t> dims(static_cast<size_t>(ndim), 0);
  size_t count = 1;
  for (auto& d : dims) {
    unsigned char b[4];
    if (read_exact(b, 4) != 4) throw Error("'" + path + "': truncated IDX header");
    d = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    count *= size_t(d);
  }
  auto out = at::empty(dims, dtype);
  size_t got = read_exact(out.data_ptr(), count * elem);
  if (got != count * elem) {
    throw Error("'" + path + "': truncated: expected " + std::to_string(count * elem) +
                " bytes of data, got " + std::to_string(got));
  }
  if (elem > 1) {  // IDX is big-endian
    auto* p = static_cast<unsigned char*>(out.data_ptr());
    for (size_t i = 0; i < count; ++i) std::reverse(p + i * elem, p + (i + 1) * elem);
  }
  return out;
}

}  // namespace fabric::data
