// Parameters every [data] kind shares: how its loaders batch and split.
#pragma once

#include "exp/recipe/registry.hpp"

namespace fabric::exp::components {

struct LoaderParams {
  int64_t batch_size = 64;
  int64_t val_batch_size = 256;
  int64_t workers = 0;
  double val_fraction = 0.0;
  std::string on_device = "auto";
};

/// Appends the loader parameters to a [data] spec whose Config derives from LoaderParams.
template <class Config>
ParamSpec<Config> add_loader_params(ParamSpec<Config> spec) {
  return spec
      .template param<int64_t>(&Config::batch_size, "batch_size",
                               "Training batch size (per process).")
      .check(ge(1))
      .template param<int64_t>(&Config::val_batch_size, "val_batch_size",
                               "Validation and test batch size.")
      .check(ge(1))
      .template param<int64_t>(&Config::workers, "workers", "Loader worker threads.")
      .check(ge(0))
      .template param<double>(&Config::val_fraction, "val_fraction",
                              "Fraction of the training split held out for validation.")
      .check(ge(0))
      .check(lt(1))
      .template param<std::string>(&Config::on_device, "on_device",
                                   "Keep the whole data set in accelerator memory and gather "
                                   "batches there (no host copy per step); auto: on CUDA when "
                                   "it takes at most 2 GiB.")
      .choices({"auto", "always", "never"});
}

/// The IDX image datasets (MNIST, Fashion-MNIST): one declaration, each kind with its root.
struct IdxImagesConfig : LoaderParams {
  std::string root{};
  bool normalize = true;
  int64_t random_crop = 0;
  bool flip = false;
};

template <class Config>
ParamSpec<Config> idx_images_spec(const std::string& kind, const std::string& summary) {
  ParamSpec<Config> spec("data", kind, summary);
  spec.gives_sample_rank(3)
      .gives_task("classification")
      .template param<std::string>(&Config::root, "root", "Folder with the (gzipped) IDX files.")
      .path()
      .template param<bool>(&Config::normalize, "normalize",
                            "Standardise pixels with the training mean and std.")
      .template param<int64_t>(&Config::random_crop, "random_crop",
                               "Pad by this many pixels and crop back randomly (0: off).")
      .check(ge(0))
      .template param<bool>(&Config::flip, "flip", "Random horizontal flips.");
  return add_loader_params(spec);
}

}  // namespace fabric::exp::components
