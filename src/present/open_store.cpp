#include "present/open_store.hpp"

#include <unistd.h>

#include <filesystem>

namespace fabric::present {

std::string store_path(const std::string& given) {
  std::string path = given.empty() ? store::default_store_path() : given;
  store::check_store_location(path);
  return path;
}

std::unique_ptr<store::RunStore> open_store(const std::string& given) {
  const std::string path = store_path(given);
  if (store::is_store_url(path)) {  // a server: opened (and its schema made) like any writer's
    auto s = std::make_unique<store::RunStore>(path);
    s->reap_stale();
    return s;
  }
  if (!std::filesystem::exists(path)) {
    throw store::StoreError("no run store at '" + path +
                            "' (run a recipe first, or pass --store / set FABRIC_EXP_STORE)");
  }
  // An archived store on a read-only mount is still browsed: opened read-only, nothing reaped.
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (::access(path.c_str(), W_OK) != 0 || ::access(parent.c_str(), W_OK) != 0)
    return store::RunStore::open_read_only(path);
  auto s = std::make_unique<store::RunStore>(path);
  s->reap_stale();
  return s;
}

std::string metric_keys(store::RunStore& store, const std::string& id) {
  std::string known;
  for (const auto& m : store.summaries(id)) known += (known.empty() ? "" : ", ") + m.key;
  return known;
}

}  // namespace fabric::present
