// [model] kind = "torchscript": A module exported from Python with torch.jit.save.
#pragma once

#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct TorchscriptModelConfig {
  std::string path;
};

inline const auto& torchscript_model_spec() {
  static const auto spec =
      ParamSpec<TorchscriptModelConfig>("model", "torchscript",
                                        "A module exported from Python with torch.jit.save.")
          .param(&TorchscriptModelConfig::path, "path", "The .pt file written by torch.jit.save.")
          .required()
          .path();
  return spec;
}

}  // namespace fabric::exp::components
