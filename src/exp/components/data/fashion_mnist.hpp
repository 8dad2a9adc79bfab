// [data] kind = "fashion_mnist": Fashion-MNIST (IDX files from Debian's dataset-fashion-mnist).
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct FashionMnistDataConfig : IdxImagesConfig {
  FashionMnistDataConfig() { root = "/usr/share/datasets/fashion-mnist"; }
};

inline const auto& fashion_mnist_data_spec() {
  static const auto spec = idx_images_spec<FashionMnistDataConfig>(
      "fashion_mnist", "Fashion-MNIST (IDX files from Debian's dataset-fashion-mnist).");
  return spec;
}

}  // namespace fabric::exp::components
