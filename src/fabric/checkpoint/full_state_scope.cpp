#include "fabric/checkpoint/full_state_scope.hpp"

namespace fabric {

FullStateScope::FullStateScope(std::vector<std::shared_ptr<StrategyModuleState>> models)
    : models_(std::move(models)),
      mapping_([this](const at::Tensor& p, const at::Tensor& v) { return map(p, v, true); },
               [this](const at::Tensor& p, const at::Tensor& v) { return map(p, v, false); }) {
  for (auto& m : models_) m->gather_full_params();
}

FullStateScope::~FullStateScope() {
  for (auto& m : models_) m->release_full_params(committed_);
}

at::Tensor FullStateScope::map(const at::Tensor& param, const at::Tensor& value, bool to_file) {
  for (auto& m : models_) {
    if (m->owns_shard(param))
      return to_file ? m->full_state_tensor(param, value) : m->shard_state_tensor(param, value);
  }
  return value;
}

}  // namespace fabric
