// [data] kind = "mnist": MNIST in the IDX format.
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct MnistDataConfig : IdxImagesConfig {
  MnistDataConfig() { root = "/usr/share/datasets/mnist"; }
};

inline const auto& mnist_data_spec() {
  static const auto spec = idx_images_spec<MnistDataConfig>("mnist", "MNIST in the IDX format.");
  return spec;
}

}  // namespace fabric::exp::components
