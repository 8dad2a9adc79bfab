// [model] kind = "torchscript": A module exported from Python with torch.jit.save.
#include "exp/components/entries.hpp"

namespace fabric::exp::components {

namespace {
struct TorchscriptModelConfig {
  std::string path;
};
}  // namespace

ComponentEntry torchscript_model_entry() {
  static const auto spec =
      ParamSpec<TorchscriptModelConfig>("model", "torchscript",
                                        "A module exported from Python with torch.jit.save.")
          .param(&TorchscriptModelConfig::path, "path", "The .pt file written by torch.jit.save.")
          .required()
          .path();
  return {"model", "torchscript", &spec};
}

}  // namespace fabric::exp::components
