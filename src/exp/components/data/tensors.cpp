// [data] kind = "tensors": A dict of tensors written by Python's torch.save.
#include "exp/components/data/loader_params.hpp"
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TensorsDataConfig : LoaderParams {
  std::string path;
  std::string data_key = "data";
  std::string target_key = "target";
};
}  // namespace

ComponentEntry tensors_data_entry() {
  static const auto spec = add_loader_params(
      ParamSpec<TensorsDataConfig>("data", "tensors",
                                   "A dict of tensors written by Python's torch.save: "
                                   "float targets make a regression, integer targets a "
                                   "classification, and integer inputs and targets of one "
                                   "[samples, context] shape a language model's tokens.")
          .param(&TensorsDataConfig::path, "path",
                 "The .pt file (a plain dict with at least two entries).")
          .required()
          .path()
          .param(&TensorsDataConfig::data_key, "data_key", "Key of the inputs.")
          .param(&TensorsDataConfig::target_key, "target_key", "Key of the targets."));
  return {"data", "tensors", &spec};
}

}  // namespace fabric::exp::components
