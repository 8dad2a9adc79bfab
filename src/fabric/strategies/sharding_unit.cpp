#include "fabric/strategies/sharding_unit.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace fabric::detail {

namespace {
std::atomic<int> registered{0};  // lets models without fsdp skip the lock
std::mutex mutex;
std::unordered_map<const torch::nn::Module*, std::weak_ptr<UnitForwardHooks>>& units() {
  static std::unordered_map<const torch::nn::Module*, std::weak_ptr<UnitForwardHooks>> map;
  return map;
}
}  // namespace

std::shared_ptr<UnitForwardHooks> find_unit(const torch::nn::Module* module) {
  if (registered.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = units().find(module);
  return it == units().end() ? nullptr : it->second.lock();
}

void register_unit(const torch::nn::Module* module, std::weak_ptr<UnitForwardHooks> hooks) {
  std::lock_guard<std::mutex> lock(mutex);
  if (units().insert_or_assign(module, std::move(hooks)).second) ++registered;
}

void unregister_unit(const torch::nn::Module* module) {
  std::lock_guard<std::mutex> lock(mutex);
  if (units().erase(module)) --registered;
}

}  // namespace fabric::detail
