#include "cli/open_store.hpp"

#include <filesystem>

namespace fabric::cli {

std::string store_path(const std::string& given) {
  return given.empty() ? store::default_store_path() : given;
}

std::unique_ptr<store::RunStore> open_store(const std::string& given) {
  const std::string path = store_path(given);
  if (!std::filesystem::exists(path)) {
    throw store::StoreError("no run store at '" + path +
                            "' (run a recipe first, or pass --store / set FABRIC_EXP_STORE)");
  }
  auto s = std::make_unique<store::RunStore>(path);
  s->reap_stale();
  return s;
}

std::string metric_keys(store::RunStore& store, const std::string& id) {
  std::string known;
  for (const auto& m : store.summaries(id)) known += (known.empty() ? "" : ", ") + m.key;
  return known;
}

}  // namespace fabric::cli
