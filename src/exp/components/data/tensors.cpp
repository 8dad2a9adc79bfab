// [data] kind = "tensors": A dict of tensors written by Python's torch.save.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TensorsDataConfig {
  std::string path;
  std::string data_key = "data";
  std::string target_key = "target";
  int64_t batch_size = 64;
  int64_t val_batch_size = 256;
  int64_t workers = 0;
  double val_fraction = 0.0;
};
}  // namespace

ComponentEntry tensors_data_entry() {
  static const auto spec =
      ParamSpec<TensorsDataConfig>("data", "tensors",
                                   "A dict of tensors written by Python's torch.save.")
          .param(&TensorsDataConfig::path, "path",
                 "The .pt file (a plain dict with at least two entries).")
          .required()
          .path()
          .param(&TensorsDataConfig::data_key, "data_key", "Key of the inputs.")
          .param(&TensorsDataConfig::target_key, "target_key", "Key of the targets.")
          .param(&TensorsDataConfig::batch_size, "batch_size", "Training batch size (per process).")
          .check(ge(1))
          .param(&TensorsDataConfig::val_batch_size, "val_batch_size",
                 "Validation and test batch size.")
          .check(ge(1))
          .param(&TensorsDataConfig::workers, "workers", "Loader worker threads.")
          .check(ge(0))
          .param(&TensorsDataConfig::val_fraction, "val_fraction",
                 "Fraction of the training split held out for validation.")
          .check(ge(0))
          .check(lt(1));
  return {"data", "tensors", &spec};
}

}  // namespace fabric::exp::components
