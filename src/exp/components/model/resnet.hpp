// [model] kind = "resnet": Small ResNet for 28x28 and 32x32 images.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct ResnetModelConfig {
  std::vector<int64_t> blocks = {2, 2, 2};
  std::vector<int64_t> channels = {16, 32, 64};
};

inline const auto& resnet_model_spec() {
  static const auto spec =
      ParamSpec<ResnetModelConfig>("model", "resnet", "Small ResNet for 28x28 and 32x32 images.")
          .needs_tasks({"classification", "regression"})
          .needs_input_rank(3)
          .param(&ResnetModelConfig::blocks, "blocks", "Residual blocks per stage.")
          .check(ge(1))
          .nonempty()
          .param(&ResnetModelConfig::channels, "channels", "Channels per stage.")
          .check(ge(1))
          .nonempty();
  return spec;
}

}  // namespace fabric::exp::components
