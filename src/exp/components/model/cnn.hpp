// [model] kind = "cnn": Convolution blocks (conv-relu-maxpool) then a hidden linear layer.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct CnnModelConfig {
  std::vector<int64_t> channels = {32, 64};
  int64_t kernel_size = 3;
  int64_t hidden = 128;
  double dropout = 0.0;
  bool batch_norm = false;
};

inline const auto& cnn_model_spec() {
  static const auto spec =
      ParamSpec<CnnModelConfig>(
          "model", "cnn", "Convolution blocks (conv-relu-maxpool) then a hidden linear layer.")
          .needs_tasks({"classification", "regression"})
          .needs_input_rank(3)
          .param(&CnnModelConfig::channels, "channels", "Output channels of each conv block.")
          .check(ge(1))
          .nonempty()
          .param(&CnnModelConfig::kernel_size, "kernel_size",
                 "Convolution kernel size (padding keeps the size).")
          .check(ge(1))
          .param(&CnnModelConfig::hidden, "hidden", "Width of the hidden linear layer.")
          .check(ge(1))
          .param(&CnnModelConfig::dropout, "dropout", "Dropout before the classifier.")
          .check(ge(0))
          .check(lt(1))
          .param(&CnnModelConfig::batch_norm, "batch_norm",
                 "Batch normalisation after each convolution.");
  return spec;
}

}  // namespace fabric::exp::components
