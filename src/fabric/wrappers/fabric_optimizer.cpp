#include "fabric/wrappers/fabric_optimizer.hpp"

#include <atomic>

#include "common/error.hpp"
#include "fabric/wrappers/fabric_module.hpp"

namespace fabric {

bool FabricOptimizer::step() {
  bool stepped = setup_->precision->optimizer_step(*setup_->optimizer);
  if (setup_->on_after_step) setup_->on_after_step(*setup_->optimizer);
  return stepped;
}

namespace detail {
namespace {
std::atomic<int> g_backward_depth{0};
}

bool in_fabric_backward() {
  return g_backward_depth.load() > 0;
}
FabricBackwardScope::FabricBackwardScope() {
  ++g_backward_depth;
}
FabricBackwardScope::~FabricBackwardScope() {
  --g_backward_depth;
}

at::Tensor ModuleSetup::finish_output(const at::Tensor& t) const {
  at::Tensor out = precision->convert_output(t);
  if (precision->requires_fabric_backward() && out.requires_grad()) {
    out.register_hook([](const at::Tensor& grad) {
      if (!in_fabric_backward()) {
        throw RuntimeError(
            "The current strategy and precision selection requires you to call "
            "fabric.backward(loss) instead of loss.backward().");
      }
      return grad;
    });
  }
  return out;
}
}  // namespace detail

}  // namespace fabric
