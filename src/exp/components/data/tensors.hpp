// [data] kind = "tensors": A dict of tensors written by Python's torch.save.
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TensorsDataConfig : LoaderParams {
  std::string path;
  std::string data_key = "data";
  std::string target_key = "target";
};

inline const auto& tensors_data_spec() {
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
  return spec;
}

}  // namespace fabric::exp::components
