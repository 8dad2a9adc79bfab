// [data] kind = "synthetic": Seeded random data: classification or regression of a given shape.
#pragma once

#include "exp/components/data/loader_params.hpp"
#include "exp/params/param_spec.hpp"

namespace fabric::exp::components {

struct SyntheticDataConfig : LoaderParams {
  std::string task = "classification";
  int64_t samples = 4096;
  std::vector<int64_t> features = {32};
  int64_t classes = 10;
  double noise = 0.1;
  int64_t test_samples = 1024;
  int64_t seed = 0;
};

inline const auto& synthetic_data_spec() {
  static const auto spec = add_loader_params(
      ParamSpec<SyntheticDataConfig>(
          "data", "synthetic", "Seeded random data: classification or regression of a given shape.")
          .param(&SyntheticDataConfig::task, "task", "What the targets are.")
          .task()
          .choices({"classification", "regression"})
          .param(&SyntheticDataConfig::samples, "samples", "Training samples.")
          .check(ge(1))
          .param(&SyntheticDataConfig::features, "features", "Shape of one input.")
          .check(ge(1))
          .nonempty()
          .sample_shape()
          .param(&SyntheticDataConfig::classes, "classes", "Number of classes (classification).")
          .check(ge(2))
          .param(&SyntheticDataConfig::noise, "noise", "Label or target noise.")
          .check(ge(0))
          .param(&SyntheticDataConfig::test_samples, "test_samples",
                 "Test samples (0: no test split).")
          .check(ge(0))
          .param(&SyntheticDataConfig::seed, "seed", "Seed of the data (independent of run.seed).")
          .check(ge(0)));
  return spec;
}

}  // namespace fabric::exp::components
