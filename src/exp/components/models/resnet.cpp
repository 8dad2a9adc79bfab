// [model] kind = "resnet": Small ResNet for 28x28 and 32x32 images.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct ResnetModelConfig {
  std::vector<int64_t> blocks = {2, 2, 2};
  std::vector<int64_t> channels = {16, 32, 64};
};
}  // namespace

ComponentEntry resnet_model_entry() {
  static const auto spec =
      ParamSpec<ResnetModelConfig>("model", "resnet", "Small ResNet for 28x28 and 32x32 images.")
          .param(&ResnetModelConfig::blocks, "blocks", "Residual blocks per stage.")
          .check(ge(1))
          .nonempty()
          .param(&ResnetModelConfig::channels, "channels", "Channels per stage.")
          .check(ge(1))
          .nonempty();
  return {"model", "resnet", &spec};
}

}  // namespace fabric::exp::components
