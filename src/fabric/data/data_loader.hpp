// DataLoader: batches from a torch::data dataset, with Python DataLoader's knobs (batch_size,
// shuffle, drop_last, workers) and two things LibTorch's loader lacks: the sampler can be made
// distributed after construction (fabric.setup_dataloaders does that), and every batch gets its
// own seeded generator (data::batch_generator()), so augmentation randomness is reproducible and
// independent of the number of workers.
//
// The dataset is anything with get_batch(c10::ArrayRef<size_t>) and size(): a
// torch::data::datasets::Dataset (per-sample get, stacked here) or a BatchDataset such as
// fabric::data::TensorDataset (whole batches by index: ~30x faster for in-memory data).
// Workers are threads, each with its own copy of the dataset (as LibTorch's loader).
//
//   fabric::DataLoader loader(fabric::data::TensorDataset(x, y), {.batch_size = 64, .shuffle =
//   true}); for (auto& batch : fabric.setup_dataloaders(loader)) { batch.data; batch.target; }
#pragma once

#include <ATen/ATen.h>
#include <torch/data/example.h>
#include <torch/data/transforms/stack.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "fabric/data/sampler.hpp"
#include "fabric/utilities/apply.hpp"

namespace fabric {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  /// Worker threads; 0 loads on the calling thread.
  size_t workers = 0;
  /// Batches each worker may run ahead.
  size_t prefetch_factor = 2;
};

namespace data::detail {
template <class Raw>
auto collate(Raw&& raw) {
  using D = std::decay_t<Raw>;
  if constexpr (std::is_same_v<D, std::vector<torch::data::Example<>>>) {
    return torch::data::transforms::Stack<torch::data::Example<>>().apply_batch(std::move(raw));
  } else {
    return D(std::move(raw));
  }
}
}  // namespace data::detail

template <class Dataset>
class DataLoader {
 public:
  using RawBatch =
      decltype(std::declval<Dataset&>().get_batch(std::declval<c10::ArrayRef<size_t>>()));
  using Batch = decltype(data::detail::collate(std::declval<RawBatch>()));

 private:
  struct Config {
    Dataset dataset{};
    DataLoaderOptions options{};
    data::SamplerSpec sampler{};
    std::optional<c10::Device> device{};
    int64_t next_epoch = 0;
    const void* origin = nullptr;  // the user's loader this one was set up from
  };

 public:
  /// One pass over the data; owns the worker threads of that pass.
  class Epoch {
   public:
    Epoch(std::shared_ptr<Config> config, int64_t epoch, size_t start_batch)
        : config_(std::move(config)), epoch_(epoch), start_(start_batch), next_(start_batch) {
      // Python's DataLoader iterator draws its base seed from the global generator, then its
      // RandomSampler draws the shuffle's seed: the same draws in the same order give the same
      // orders as PyTorch and Lightning Fabric for the same seed.
      base_seed_ = uint64_t(at::empty({}, at::kLong).random_().item<int64_t>());
      indices_ = data::epoch_indices(dataset_size_of(config_->dataset), config_->sampler, epoch);
      num_batches_ = batches_for(indices_.size(), config_->options);
      const size_t workers = config_->options.workers;
      for (size_t w = 0; w < workers; ++w)
        threads_.emplace_back([this, w, workers] { work(w, workers); });
    }
    ~Epoch() {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      for (auto& t : threads_) t.join();
    }
    Epoch(const Epoch&) = delete;
    Epoch& operator=(const Epoch&) = delete;

    int64_t epoch() const { return epoch_; }
    size_t num_batches() const { return num_batches_; }
    /// The next batch, or nullopt at the end of the epoch.
    std::optional<Batch> next() {
      if (next_ >= num_batches_) return std::nullopt;
      if (threads_.empty()) return fetch(config_->dataset, next_++);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return error_ || ready_.count(next_); });
      if (error_) std::rethrow_exception(error_);
      auto node = ready_.extract(next_++);
      lock.unlock();
      cv_.notify_all();
      return std::move(node.mapped());
    }

   private:
    Batch fetch(Dataset& dataset, size_t b) {
      const size_t bs = size_t(config_->options.batch_size);
      const size_t begin = b * bs, end = std::min(begin + bs, indices_.size());
      std::vector<size_t> request(indices_.begin() + begin, indices_.begin() + end);
      data::detail::BatchGeneratorScope gen(
          data::detail::batch_seed(base_seed_, config_->sampler.rank, epoch_, int64_t(b)));
      Batch batch = data::detail::collate(dataset.get_batch(request));
      if (config_->device && !config_->device->is_cpu()) {
        batch = apply_to_tensors(batch, [&](const at::Tensor& t) {
          return (t.is_cpu() ? t.pin_memory() : t).to(*config_->device, /*non_blocking=*/true);
        });
      }
      return batch;
    }
    void work(size_t w, size_t workers) {
      try {
        Dataset local = config_->dataset;  // each worker owns a copy, as LibTorch's loader
        const size_t window = workers * std::max<size_t>(1, config_->options.prefetch_factor);
        for (size_t b = start_ + w; b < num_batches_; b += workers) {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stop_ || b < next_ + window; });
            if (stop_) return;
          }
          Batch batch = fetch(local, b);
          {
            std::lock_guard<std::mutex> lock(mu_);
            ready_.emplace(b, std::move(batch));
          }
          cv_.notify_all();
        }
      } catch (...) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (!error_) error_ = std::current_exception();
        }
        cv_.notify_all();
      }
    }

    std::shared_ptr<Config> config_;
    int64_t epoch_;
    std::vector<int64_t> indices_;
    size_t num_batches_ = 0;
    uint64_t base_seed_ = 0;
    size_t start_;  // first batch of this pass (workers must not read next_ to find it)
    size_t next_;
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<size_t, Batch> ready_;
    std::exception_ptr error_;
    bool stop_ = false;
  };

  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(std::shared_ptr<Epoch> epoch) : epoch_(std::move(epoch)) { advance(); }
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(const iterator& other) const { return done() == other.done(); }
    bool operator!=(const iterator& other) const { return !(*this == other); }

   private:
    bool done() const { return !current_.has_value(); }
    void advance() { current_ = epoch_ ? epoch_->next() : std::nullopt; }
    std::shared_ptr<Epoch> epoch_;
    std::optional<Batch> current_;
  };

  DataLoader(Dataset dataset, DataLoaderOptions options = {})
      : config_(std::make_shared<Config>(Config{std::move(dataset), options, {}, std::nullopt})) {
    if (options.batch_size < 1) {
      throw ValueError("batch_size should be a positive integer value, but got batch_size=" +
                       std::to_string(options.batch_size));
    }
    config_->sampler.shuffle = options.shuffle;
    config_->origin = config_.get();
  }

  /// Starts the next epoch (epochs count up from 0, or from set_epoch).
  iterator begin() { return iterator(start_epoch(config_->next_epoch++, 0)); }
  iterator end() { return iterator(); }
  /// An epoch starting at batch `start_batch` (for resuming inside an epoch).
  std::shared_ptr<Epoch> start_epoch(int64_t epoch, size_t start_batch = 0) {
    return std::make_shared<Epoch>(config_, epoch, start_batch);
  }
  /// Iterates a started epoch: for (auto& b : loader.iterate(e)) ...
  struct Range {
    std::shared_ptr<Epoch> epoch{};
    iterator begin() { return iterator(epoch); }
    iterator end() { return iterator(); }
  };
  Range iterate(int64_t epoch, size_t start_batch = 0) {
    return Range{start_epoch(epoch, start_batch)};
  }

  void set_epoch(int64_t epoch) { config_->next_epoch = epoch; }
  int64_t next_epoch() const { return config_->next_epoch; }
  size_t dataset_size() const { return dataset_size_of(config_->dataset); }
  /// Samples this process sees per epoch (a shard under DDP).
  size_t num_samples() const {
    const size_t n = dataset_size();
    if (!config_->sampler.distributed) return n;
    const size_t r = size_t(config_->sampler.num_replicas);
    return (n + r - 1) / r;
  }
  /// Batches per epoch.
  size_t size() const { return batches_for(num_samples(), config_->options); }
  const DataLoaderOptions& options() const { return config_->options; }
  const data::SamplerSpec& sampler() const { return config_->sampler; }
  /// Where batches are moved; nullopt when they stay where the dataset makes them.
  std::optional<c10::Device> device() const { return config_->device; }
  Dataset& dataset() { return config_->dataset; }
  /// The loader this one was made from by setup_dataloaders (itself for a user's loader).
  const void* origin() const { return config_->origin; }

  /// A copy with its own sampler and target device (what setup_dataloaders returns).
  DataLoader configured(const data::SamplerSpec& sampler, std::optional<c10::Device> device) const {
    DataLoader out(*this);
    out.config_ = std::make_shared<Config>(*config_);
    out.config_->sampler = sampler;
    out.config_->device = device;
    return out;
  }

 private:
  static size_t dataset_size_of(const Dataset& dataset) {
    auto n = dataset.size();
    if constexpr (std::is_integral_v<decltype(n)>) {
      return size_t(n);
    } else {
      if (!n.has_value())
        throw TypeError("the dataset has no size; iterable datasets are not supported");
      return *n;
    }
  }
  static size_t batches_for(size_t n, const DataLoaderOptions& o) {
    const size_t bs = size_t(o.batch_size);
    return o.drop_last ? n / bs : (n + bs - 1) / bs;
  }

  std::shared_ptr<Config> config_;
};

}  // namespace fabric
