// The [data] components: every split is loaded into memory as (data, target) tensors, so batches
// are gathered by index in one call (about 30x faster than LibTorch's per-sample collation).
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "engine/component_factories.hpp"
#include "fabric/data/tensor_dataset.hpp"

namespace fabric::engine {

/// What the targets are: class ids, real values, or each position's next token.
enum class Task { Classification, Regression, LanguageModel };

/// What the model and the loss need to know about the data.
struct DataInfo {
  Task task = Task::Classification;
  std::vector<int64_t> input_shape{};  // one sample, without the batch dimension
  int64_t classes = 0;                 // classification; vocabulary size for language models
  int64_t target_width = 1;            // regression outputs
};

struct Augment {
  int64_t random_crop = 0;  // pad and crop back
  bool flip = false;
  bool any() const { return random_crop > 0 || flip; }
};

struct DataSplits {
  data::TensorDataset train;
  std::optional<data::TensorDataset> val, test;
  DataInfo info{};
  Augment augment{};
  int64_t batch_size = 64, val_batch_size = 256, workers = 0;
  std::string on_device = "auto";  // see keep_on_device
};

/// [data]: every split loaded. Factories throw fabric::Error (FileNotFoundError for missing
/// files) whose message names the file and what is wrong with it.
struct DataFamily {
  static constexpr const char* table = "data";
  using Product = DataSplits;
  using Context = const NoContext;
};

void add_data_factories(ComponentFactories& factories);

/// [data] on_device: moves every split's tensors to `device` so that batches are gathered there,
/// with no host-to-device copy per step. "always", "never", or "auto": on a CUDA device when the
/// splits total at most `auto_limit_bytes`. Returns whether they moved (never on a CPU device).
bool keep_on_device(DataSplits& splits, const std::string& mode, c10::Device device,
                    int64_t auto_limit_bytes = int64_t(2) << 30);

/// Random crop and flip of an image batch [N, C, H, W], drawn from `gen` (reproducible per step).
at::Tensor augment_batch(const at::Tensor& images, const Augment& augment, at::Generator gen);

}  // namespace fabric::engine
