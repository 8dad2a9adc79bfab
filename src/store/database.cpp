#include "store/database.hpp"

#include <cctype>
#include <filesystem>

#include "store/sqlite.hpp"
#ifdef FABRIC_HAVE_LIBPQ
#include "store/postgres.hpp"
#endif

namespace fabric::store {

namespace {
/// "postgresql" for "postgresql://...", "" for a path (even one with "://" inside).
std::string url_scheme(const std::string& location) {
  const size_t sep = location.find("://");
  if (sep == std::string::npos || sep == 0) return "";
  const std::string scheme = location.substr(0, sep);
  for (unsigned char c : scheme)
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return "";
  return scheme;
}
}  // namespace

bool is_store_url(const std::string& location) {
  return !url_scheme(location).empty();
}

std::string without_password(const std::string& location) {
  std::string masked = masked_location(location);
  for (const char* hidden : {":***@", "password=***&", "&password=***", "?password=***"}) {
    const size_t at = masked.find(hidden);
    if (at == std::string::npos) continue;
    const std::string h = hidden;
    masked.replace(at, h.size(), h == ":***@" ? "@" : "");
  }
  return masked;
}

std::string masked_location(const std::string& location) {
  if (!is_store_url(location)) return location;
  std::string shown = location;
  const size_t sep = shown.find("://") + 3;
  const size_t at = shown.find('@', sep);
  const size_t slash = shown.find('/', sep);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const size_t colon = shown.find(':', sep);
    if (colon != std::string::npos && colon < at) shown.replace(colon + 1, at - colon - 1, "***");
  }
  // ...?password=secret&... (libpq reads that too)
  for (size_t p = shown.find("password=", sep); p != std::string::npos;
       p = shown.find("password=", p + 1)) {
    if (p == 0 || (shown[p - 1] != '?' && shown[p - 1] != '&')) continue;
    const size_t value = p + 9;
    const size_t end = shown.find('&', value);
    shown.replace(value, (end == std::string::npos ? shown.size() : end) - value, "***");
  }
  return shown;
}

bool is_postgres_url(const std::string& location) {
  const std::string scheme = url_scheme(location);
  return scheme == "postgresql" || scheme == "postgres";
}

void check_store_location(const std::string& location) {
  const std::string scheme = url_scheme(location);
  const std::string shown = masked_location(location);
  if (is_postgres_url(location)) {
#ifndef FABRIC_HAVE_LIBPQ
    throw StoreError("run store '" + shown +
                     "': PostgreSQL stores are not supported by this build (built without "
                     "libpq; install libpq-dev and rebuild)");
#endif
    return;
  }
  if (scheme == "sqlite" || scheme == "file")  // MLflow's and SQLite's URI forms
    throw StoreError("run store '" + shown + "': give the SQLite file's path itself, without the " +
                     scheme + ":// URL");
  if (!scheme.empty())
    throw StoreError("run store '" + shown + "': unknown store URL scheme '" + scheme +
                     "'; --store and FABRIC_EXP_STORE take a SQLite file's path or a "
                     "postgresql://user@host:port/database URL");
  if (location.empty()) throw StoreError("the run store's location is empty");
}

std::unique_ptr<Database> open_database(const std::string& location, bool read_only) {
  check_store_location(location);
#ifdef FABRIC_HAVE_LIBPQ
  if (is_postgres_url(location)) return std::make_unique<PostgresDatabase>(location);
#endif
  if (!read_only) {
    if (auto parent = std::filesystem::path(location).parent_path(); !parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec)
        throw StoreError("cannot create the folder '" + parent.string() + "' of run store '" +
                         location + "': " + ec.message());
    }
  }
  return std::make_unique<SqliteDatabase>(location, read_only);
}

}  // namespace fabric::store
