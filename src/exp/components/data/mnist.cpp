// [data] kind = "mnist": MNIST in the IDX format.
#include "exp/components/data/loader_params.hpp"
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MnistDataConfig : IdxImagesConfig {
  MnistDataConfig() { root = "/usr/share/datasets/mnist"; }
};
}  // namespace

ComponentEntry mnist_data_entry() {
  static const auto spec = idx_images_spec<MnistDataConfig>("mnist", "MNIST in the IDX format.");
  return {"data", "mnist", &spec};
}

}  // namespace fabric::exp::components
