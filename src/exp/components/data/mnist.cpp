// [data] kind = "mnist": MNIST in the IDX format.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct MnistDataConfig {
  std::string root = "/usr/share/datasets/mnist";
  bool normalize = true;
  int64_t random_crop = 0;
  bool flip = false;
  int64_t batch_size = 64;
  int64_t val_batch_size = 256;
  int64_t workers = 0;
  double val_fraction = 0.0;
};
}  // namespace

ComponentEntry mnist_data_entry() {
  static const auto spec =
      ParamSpec<MnistDataConfig>("data", "mnist", "MNIST in the IDX format.")
          .param(&MnistDataConfig::root, "root", "Folder with the (gzipped) IDX files.")
          .path()
          .param(&MnistDataConfig::normalize, "normalize",
                 "Standardise pixels with the training mean and std.")
          .param(&MnistDataConfig::random_crop, "random_crop",
                 "Pad by this many pixels and crop back randomly (0: off).")
          .check(ge(0))
          .param(&MnistDataConfig::flip, "flip", "Random horizontal flips.")
          .param(&MnistDataConfig::batch_size, "batch_size", "Training batch size (per process).")
          .check(ge(1))
          .param(&MnistDataConfig::val_batch_size, "val_batch_size",
                 "Validation and test batch size.")
          .check(ge(1))
          .param(&MnistDataConfig::workers, "workers", "Loader worker threads.")
          .check(ge(0))
          .param(&MnistDataConfig::val_fraction, "val_fraction",
                 "Fraction of the training split held out for validation.")
          .check(ge(0))
          .check(lt(1));
  return {"data", "mnist", &spec};
}

}  // namespace fabric::exp::components
