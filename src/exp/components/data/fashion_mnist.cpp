// [data] kind = "fashion_mnist": Fashion-MNIST (IDX files from Debian's dataset-fashion-mnist).
#include "exp/components/data/loader_params.hpp"
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct FashionMnistDataConfig : IdxImagesConfig {
  FashionMnistDataConfig() { root = "/usr/share/datasets/fashion-mnist"; }
};
}  // namespace

ComponentEntry fashion_mnist_data_entry() {
  static const auto spec = idx_images_spec<FashionMnistDataConfig>(
      "fashion_mnist", "Fashion-MNIST (IDX files from Debian's dataset-fashion-mnist).");
  return {"data", "fashion_mnist", &spec};
}

}  // namespace fabric::exp::components
