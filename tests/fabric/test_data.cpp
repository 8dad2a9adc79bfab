// DataLoader, samplers and setup_dataloaders.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <fstream>

#include "fabric/data/idx.hpp"
#include "fabric/fabric.hpp"
#include "support/helpers.hpp"

using fabric::DataLoader;
using fabric::Fabric;
using fabric::data::SamplerSpec;
using fabric::data::TensorDataset;

namespace {
TensorDataset range_dataset(int64_t n) {
  auto x = torch::arange(n).to(torch::kFloat32).unsqueeze(1);
  return TensorDataset(x, torch::arange(n));
}
template <class Loader>
std::vector<int64_t> targets_of_epoch(Loader& loader) {
  std::vector<int64_t> out;
  for (auto& batch : loader) {
    for (int64_t i = 0; i < batch.target.size(0); ++i)
      out.push_back(batch.target[i].template item<int64_t>());
  }
  return out;
}

// A per-sample dataset whose samples draw augmentation noise from the batch generator.
struct NoisyDataset : torch::data::datasets::Dataset<NoisyDataset> {
  torch::data::Example<> get(size_t index) override {
    auto noise = torch::rand({2}, fabric::data::batch_generator());
    return {noise, torch::tensor(int64_t(index))};
  }
  c10::optional<size_t> size() const override { return 37; }
};

struct FailingDataset : torch::data::datasets::Dataset<FailingDataset> {
  torch::data::Example<> get(size_t index) override {
    if (index == 13) throw std::runtime_error("sample 13 is corrupt");
    return {torch::zeros({1}), torch::tensor(int64_t(index))};
  }
  c10::optional<size_t> size() const override { return 20; }
};
}  // namespace

TEST_CASE("sequential order, batch sizes and drop_last", "[fabric][data]") {
  DataLoader loader(range_dataset(10), {.batch_size = 4});
  CHECK(loader.size() == 3);
  std::vector<int64_t> sizes;
  for (auto& b : loader) sizes.push_back(b.data.size(0));
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  DataLoader dropping(range_dataset(10), {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(targets_of_epoch(dropping) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK_THROWS_AS(DataLoader(range_dataset(3), {.batch_size = 0}), fabric::ValueError);
}

TEST_CASE("shuffled orders follow the global seed and change every epoch", "[fabric][data]") {
  fabric::seed_everything(3, false, false);
  DataLoader a(range_dataset(50), {.batch_size = 8, .shuffle = true});
  auto e0 = targets_of_epoch(a);
  auto e1 = targets_of_epoch(a);
  CHECK(e0 != e1);
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == targets_of_epoch(*std::make_unique<DataLoader<TensorDataset>>(
                      range_dataset(50), fabric::DataLoaderOptions{.batch_size = 8})));
  fabric::seed_everything(3, false, false);
  DataLoader b(range_dataset(50), {.batch_size = 8, .shuffle = true});
  CHECK(targets_of_epoch(b) == e0);
  CHECK(targets_of_epoch(b) == e1);
}

TEST_CASE("distributed sampler shards, pads and reshuffles like torch's", "[fabric][data]") {
  // Lightning's test_setup_dataloaders_distributed_sampler_shuffle: rank 0 of 2 over arange(8).
  auto order = [](bool shuffle, int rank, size_t n, int64_t epoch, int replicas = 2) {
    return fabric::data::epoch_indices(n,
                                       SamplerSpec{.shuffle = shuffle,
                                                   .distributed = true,
                                                   .num_replicas = replicas,
                                                   .rank = rank,
                                                   .seed = 1},
                                       epoch);
  };
  CHECK(order(false, 0, 8, 0) == std::vector<int64_t>{0, 2, 4, 6});
  CHECK(order(true, 0, 8, 0) == std::vector<int64_t>{5, 2, 7, 1});
  CHECK(order(true, 0, 8, 1) != order(true, 0, 8, 0));
  // Disjoint shards that together cover everything; 11 samples over 2 ranks pad to 12.
  auto r0 = order(true, 0, 11, 3), r1 = order(true, 1, 11, 3);
  CHECK(r0.size() == 6);
  CHECK(r1.size() == 6);
  std::set<int64_t> all(r0.begin(), r0.end());
  all.insert(r1.begin(), r1.end());
  CHECK(all.size() == 11);
  CHECK(order(false, 2, 5, 0, 3) == std::vector<int64_t>{2, 0});  // padded with the head
}

TEST_CASE("distributed orders match Python's DistributedSampler", "[fabric][data][python]") {
  if (!test_support::python_with_torch()) FABRIC_SKIP("no Python with torch");
  auto r = test_support::run_python(R"(
from torch.utils.data import DistributedSampler
for epoch in (0, 1):
    s = DistributedSampler(range(23), num_replicas=3, rank=1, shuffle=True, seed=42)
    s.set_epoch(epoch)
    print(",".join(str(i) for i in s))
)");
  REQUIRE(r.exit_code == 0);
  std::string expected;
  for (int64_t epoch : {0, 1}) {
    auto idx = fabric::data::epoch_indices(
        23,
        SamplerSpec{.shuffle = true, .distributed = true, .num_replicas = 3, .rank = 1, .seed = 42},
        epoch);
    for (size_t i = 0; i < idx.size(); ++i) {
      if (i) expected += ',';
      expected += std::to_string(idx[i]);
    }
    expected += "\n";
  }
  CHECK(r.output == expected);
}

TEST_CASE("worker threads give the same batches as the main thread", "[fabric][data]") {
  auto checksum = [](size_t workers) {
    fabric::seed_everything(11, true, false);
    DataLoader loader(NoisyDataset(), {.batch_size = 5, .shuffle = true, .workers = workers});
    std::vector<torch::Tensor> out;
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (auto& b : loader)
        out.push_back(torch::cat({b.data.flatten(), b.target.to(torch::kFloat32)}));
    }
    return torch::cat(out);
  };
  auto serial = checksum(0);
  CHECK(torch::equal(serial, checksum(0)));  // reproducible
  CHECK(torch::equal(serial, checksum(3)));  // independent of the worker count
  // different batches and epochs draw different noise
  fabric::seed_everything(11, true, false);
  DataLoader loader(NoisyDataset(), {.batch_size = 37});
  auto e0 = (*loader.begin()).data;
  auto e1 = (*loader.begin()).data;
  CHECK_FALSE(torch::equal(e0, e1));
  CHECK_FALSE(torch::equal(e0[0], e0[1]));
}

TEST_CASE("an exception in a worker reaches the training loop", "[fabric][data]") {
  for (size_t workers : {size_t(0), size_t(2)}) {
    DataLoader loader(FailingDataset(), {.batch_size = 4, .workers = workers});
    CHECK_THROWS_WITH(targets_of_epoch(loader), "sample 13 is corrupt");
  }
  DataLoader early(range_dataset(100), {.batch_size = 1, .workers = 2});
  for (auto& b : early) {  // leaving early joins the workers cleanly
    (void)b;
    break;
  }
}

TEST_CASE("setup_dataloaders: device, return types, single-device sampler kept", "[fabric][data]") {
  Fabric f({.accelerator = "cpu"});
  DataLoader a(range_dataset(6), {.batch_size = 2}), b(range_dataset(4), {.batch_size = 2});
  auto [x, y] = f.setup_dataloaders(a, b);
  CHECK(x.device() == f.device());
  CHECK(targets_of_epoch(x) == targets_of_epoch(a));
  CHECK_FALSE(x.sampler().distributed);
  DataLoader c(range_dataset(4), {.batch_size = 2});
  auto z = f.setup_dataloaders({.move_to_device = false}, c);
  CHECK_FALSE(z.device().has_value());
}

TEST_CASE("resuming inside an epoch yields the rest of that epoch", "[fabric][data]") {
  fabric::seed_everything(5, false, false);
  DataLoader loader(range_dataset(20), {.batch_size = 3, .shuffle = true});
  std::vector<int64_t> full;
  auto epoch = loader.start_epoch(4);
  while (auto b = epoch->next()) full.push_back((*b).target[0].item<int64_t>());
  fabric::seed_everything(5, false, false);
  std::vector<int64_t> tail;
  for (auto& b : loader.iterate(4, 2)) tail.push_back(b.target[0].item<int64_t>());
  CHECK(tail == std::vector<int64_t>(full.begin() + 2, full.end()));
}

TEST_CASE("IDX files: real Fashion-MNIST and clear errors", "[fabric][data][idx]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir)) FABRIC_SKIP("dataset-fashion-mnist is not installed");
  auto labels = fabric::data::read_idx(dir + "/t10k-labels-idx1-ubyte.gz");
  CHECK(labels.sizes() == c10::IntArrayRef{10000});
  CHECK(labels.max().item<int>() == 9);
  auto images = fabric::data::read_idx(dir + "/t10k-images-idx3-ubyte.gz");
  CHECK(images.sizes() == c10::IntArrayRef{10000, 28, 28});
  test_support::TempDir tmp;
  CHECK_THROWS_AS(fabric::data::read_idx(tmp.str("none.gz")), fabric::FileNotFoundError);
  std::ofstream(tmp.str("bad")) << "hello world";
  CHECK_THROWS_WITH(fabric::data::read_idx(tmp.str("bad")), Catch::Contains("not an IDX file"));
  std::ofstream(tmp.str("short"), std::ios::binary)
      .write(
          "\0\0\x08\x01\0\0\0\x10"
          "abc",
          11);
  CHECK_THROWS_WITH(fabric::data::read_idx(tmp.str("short")),
                    Catch::Contains("truncated: expected 16 bytes of data, got 3"));
}
