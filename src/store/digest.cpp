// sha256 of files, folders and bytes: the digests the store records for artifacts.
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/run_store.hpp"

namespace fabric::store {

namespace fs = std::filesystem;

namespace {
std::string to_hex(const unsigned char* bytes, size_t n) {
  std::string hex;
  char byte[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", bytes[i]);
    hex += byte;
  }
  return hex;
}
}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(digest, len);
}

std::string sha256_folder(const std::string& path) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), path).string());
  }
  std::sort(files.begin(), files.end());
  std::string manifest;
  for (const auto& f : files)
    manifest += f + " " + sha256_file((fs::path(path) / f).string()) + "\n";
  return sha256_hex(manifest);
}

std::string sha256_path(const std::string& path) {
  return fs::is_directory(path) ? sha256_folder(path) : sha256_file(path);
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError("cannot read '" + path + "' to hash it");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return to_hex(digest, len);
}

/// 8 characters of a lowercase alphabet without look-alikes (no 0/o, 1/l): short to type,
/// 2^40 ids, so collisions are checked but practically never happen.

}  // namespace fabric::store
