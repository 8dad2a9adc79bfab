#include "engine/data.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "exp/components/data/csv.hpp"
#include "exp/components/data/fashion_mnist.hpp"
#include "exp/components/data/mnist.hpp"
#include "exp/components/data/synthetic.hpp"
#include "exp/components/data/tensors.hpp"
#include "exp/components/data/text.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"
#include "fabric/data/idx.hpp"

namespace fabric::engine {

namespace fs = std::filesystem;

namespace {

std::string find_idx(const std::string& root, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    std::string p = root + "/" + stem + suffix;
    if (fs::exists(p)) return p;
  }
  throw FileNotFoundError("[data] root: no '" + stem + "' or '" + stem + ".gz' in '" + root + "'");
}

at::Tensor read_images(const std::string& path) {
  auto images = data::read_idx(path);
  if (images.dim() != 3) {
    throw ValueError("'" + path + "': expected a 3-d IDX image file, got " +
                     std::to_string(images.dim()) + " dimensions");
  }
  return images.to(at::kFloat).div_(255.0).unsqueeze(1);
}

at::Tensor read_labels(const std::string& path, int64_t images) {
  auto labels = data::read_idx(path).to(at::kLong);
  if (labels.dim() != 1 || labels.size(0) != images) {
    throw ValueError("'" + path + "': expected " + std::to_string(images) +
                     " labels to match the images, got shape " + c10::str(labels.sizes()));
  }
  return labels;
}

/// Holds out the last `fraction` of a seeded permutation (the same on every rank and resume).
std::pair<data::TensorDataset, std::optional<data::TensorDataset>> split_off(
    const data::TensorDataset& all, double fraction, uint64_t seed) {
  if (fraction <= 0) return {all, std::nullopt};
  const int64_t n = all.data().size(0);
  const int64_t held = std::max<int64_t>(1, int64_t(double(n) * fraction));
  if (held >= n)
    throw ValueError("[data] holding out " + std::to_string(held) + " of " + std::to_string(n) +
                     " samples leaves nothing to train on");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto perm = at::randperm(n, gen, at::kLong);
  auto keep = std::get<0>(perm.slice(0, 0, n - held).sort());
  auto out = std::get<0>(perm.slice(0, n - held).sort());
  return {data::TensorDataset(all.data().index_select(0, keep), all.target().index_select(0, keep)),
          data::TensorDataset(all.data().index_select(0, out), all.target().index_select(0, out))};
}

DataSplits idx_images(const exp::components::IdxImagesConfig& c) {
  const std::string& root = c.root;
  auto train_x = read_images(find_idx(root, "train-images-idx3-ubyte"));
  auto train_y = read_labels(find_idx(root, "train-labels-idx1-ubyte"), train_x.size(0));
  auto test_x = read_images(find_idx(root, "t10k-images-idx3-ubyte"));
  auto test_y = read_labels(find_idx(root, "t10k-labels-idx1-ubyte"), test_x.size(0));
  if (c.normalize) {
    // Statistics of the training split only, so that test data never leaks into training.
    auto mean = train_x.mean().item<double>(), stdev = train_x.std().item<double>();
    train_x.sub_(mean).div_(stdev);
    test_x.sub_(mean).div_(stdev);
  }
  DataSplits s{data::TensorDataset(train_x, train_y), std::nullopt, std::nullopt, {}, {}};
  s.test = data::TensorDataset(test_x, test_y);
  s.info.input_shape = {1, train_x.size(2), train_x.size(3)};
  s.info.classes = train_y.max().item<int64_t>() + 1;
  s.augment = {c.random_crop, c.flip};
  return s;
}

DataSplits synthetic(const exp::components::SyntheticDataConfig& c) {
  const auto& features = c.features;
  const int64_t classes = c.classes;
  const bool classify = c.task == "classification";
  const double noise = c.noise;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(c.seed));
  int64_t width = 1;
  for (auto f : features) width *= f;
  // A fixed random teacher: a linear map for regression, or class centroids for classification.
  auto teacher = at::randn({width, classify ? classes : 1}, gen, at::kFloat);
  auto make = [&](int64_t n) {
    std::vector<int64_t> shape{n};
    shape.insert(shape.end(), features.begin(), features.end());
    auto x = at::randn({n, width}, gen, at::kFloat);
    auto scores = x.matmul(teacher) / std::sqrt(double(width));
    at::Tensor y;
    if (classify) {
      y = (scores + noise * at::randn(scores.sizes(), gen, at::kFloat)).argmax(1);
    } else {
      y = scores + noise * at::randn(scores.sizes(), gen, at::kFloat);
    }
    return data::TensorDataset(x.reshape(shape), y);
  };
  DataSplits s{make(c.samples), std::nullopt, std::nullopt, {}, {}};
  if (c.test_samples > 0) s.test = make(c.test_samples);
  s.info.task = classify ? Task::Classification : Task::Regression;
  s.info.input_shape = features;
  s.info.classes = classify ? classes : 0;
  return s;
}

std::vector<std::string> split_fields(const std::string& line, char delimiter) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, delimiter)) out.push_back(field);
  if (!line.empty() && line.back() == delimiter) out.emplace_back();
  return out;
}

DataSplits csv(const exp::components::CsvDataConfig& c) {
  const std::string& path = c.path;
  std::ifstream in(path);
  if (!in) throw FileNotFoundError("[data] path: cannot open '" + path + "'");
  const std::string& delim = c.delimiter;
  if (delim.size() != 1) throw ValueError("[data] delimiter: must be one character");
  std::string line;
  std::vector<std::string> names;
  int64_t line_no = 0;
  if (c.header && std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names = split_fields(line, delim[0]);
  }
  const std::string& target = c.target;
  int64_t target_col = -1;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == target) target_col = int64_t(i);
  if (target_col < 0) {
    char* end = nullptr;
    long v = std::strtol(target.c_str(), &end, 10);
    if (target.empty() || *end != '\0') {
      throw ValueError("'" + path + "': [data] target '" + target +
                       "' is neither a column name in the header nor a column index");
    }
    target_col = v;
  }
  std::vector<float> xs;
  std::vector<double> ys;
  size_t columns = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto fields = split_fields(line, delim[0]);
    if (columns == 0) columns = fields.size();
    if (fields.size() != columns) {
      throw ValueError("'" + path + "' line " + std::to_string(line_no) + ": " +
                       std::to_string(fields.size()) + " fields, expected " +
                       std::to_string(columns));
    }
    if (target_col >= int64_t(columns)) {
      throw ValueError("'" + path + "': target column " + std::to_string(target_col) +
                       " is out of range (" + std::to_string(columns) + " columns)");
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      char* end = nullptr;
      double v = std::strtod(fields[c].c_str(), &end);
      if (fields[c].empty() || *end != '\0') {
        throw ValueError("'" + path + "' line " + std::to_string(line_no) + " column " +
                         std::to_string(c + 1) + ": '" + fields[c] + "' is not a number");
      }
      if (int64_t(c) == target_col) {
        ys.push_back(v);
      } else {
        xs.push_back(float(v));
      }
    }
  }
  if (ys.empty()) throw ValueError("'" + path + "': no data rows");
  const int64_t n = int64_t(ys.size()), width = int64_t(columns) - 1;
  auto x = at::from_blob(xs.data(), {n, width}, at::kFloat).clone();
  auto y = at::from_blob(ys.data(), {n}, at::kDouble).clone();
  DataSplits s{data::TensorDataset(x, y), std::nullopt, std::nullopt, {}, {}};
  if (c.task == "classification") {
    auto labels = y.to(at::kLong);
    if (!labels.to(at::kDouble).eq(y).all().item<bool>() || labels.min().item<int64_t>() < 0) {
      throw ValueError("'" + path + "': classification targets must be integers >= 0");
    }
    s.train = data::TensorDataset(x, labels);
    s.info.classes = labels.max().item<int64_t>() + 1;
  } else {
    s.train = data::TensorDataset(x, y.to(at::kFloat).unsqueeze(1));
    s.info.task = Task::Regression;
  }
  s.info.input_shape = {width};
  auto [train, test] = split_off(s.train, c.test_fraction, 1);
  s.train = train;
  s.test = test;
  return s;
}

DataSplits text(const exp::components::TextDataConfig& c) {
  const std::string& path = c.path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileNotFoundError("[data] path: cannot open '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int64_t context = c.context;
  const int64_t stride = c.stride > 0 ? c.stride : context;
  const int64_t n = int64_t(bytes.size());
  if (n < 2 * (context + 1)) {
    throw ValueError("'" + path + "': " + std::to_string(n) + " bytes is too short for context " +
                     std::to_string(context));
  }
  auto all = at::from_blob(bytes.data(), {n}, at::kByte).to(at::kLong);
  // The tail of the file is the test text: windows never straddle the split.
  const int64_t test_bytes = int64_t(double(n) * c.test_fraction);
  auto windows = [&](const at::Tensor& seq) {
    const int64_t count = (seq.size(0) - 1 - context) / stride + 1;
    auto starts = at::arange(count, at::kLong) * stride;
    auto offsets = at::arange(context, at::kLong);
    auto idx = starts.unsqueeze(1) + offsets.unsqueeze(0);
    return data::TensorDataset(seq.index({idx}), seq.index({idx + 1}));
  };
  DataSplits s{windows(all.slice(0, 0, n - test_bytes)), std::nullopt, std::nullopt, {}, {}};
  if (test_bytes > context + 1) s.test = windows(all.slice(0, n - test_bytes));
  s.info.task = Task::LanguageModel;
  s.info.input_shape = {context};
  s.info.classes = 256;
  return s;
}

DataSplits tensors(const exp::components::TensorsDataConfig& c) {
  const std::string& path = c.path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileNotFoundError("[data] path: cannot open '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue loaded;
  try {
    loaded = unpickle_torch_save(bytes);
  } catch (const std::exception& e) {
    throw ValueError("'" + path +
                     "': not a torch.save file: " + std::string(e.what()).substr(0, 200));
  }
  if (!loaded.isGenericDict()) throw ValueError("'" + path + "': expected a dict of tensors");
  auto get = [&](const std::string& key) {
    for (const auto& item : loaded.toGenericDict()) {
      if (item.key().isString() && item.key().toStringRef() == key && item.value().isTensor())
        return item.value().toTensor();
    }
    throw KeyError("'" + path + "': no tensor under key '" + key + "'");
  };
  auto x = get(c.data_key), y = get(c.target_key);
  if (x.size(0) != y.size(0)) {
    throw ValueError("'" + path + "': '" + c.data_key + "' has " + std::to_string(x.size(0)) +
                     " samples but '" + c.target_key + "' has " + std::to_string(y.size(0)));
  }
  if (x.is_floating_point()) x = x.to(at::kFloat);
  DataSplits s{data::TensorDataset(x, y), std::nullopt, std::nullopt, {}, {}};
  s.info.input_shape.assign(x.sizes().begin() + 1, x.sizes().end());
  const bool tokens =
      !x.is_floating_point() && !y.is_floating_point() && x.dim() == 2 && x.sizes() == y.sizes();
  if (tokens) {  // [samples, context] token ids and their next tokens: a language model's data
    x = x.to(at::kLong);
    y = y.to(at::kLong);
    if (x.min().item<int64_t>() < 0 || y.min().item<int64_t>() < 0) {
      throw ValueError("'" + path + "': token ids must be >= 0");
    }
    s.train = data::TensorDataset(x, y);
    s.info.task = Task::LanguageModel;
    s.info.classes = std::max(x.max().item<int64_t>(), y.max().item<int64_t>()) + 1;
  } else if (y.is_floating_point()) {
    s.info.task = Task::Regression;
    s.train =
        data::TensorDataset(x, y.dim() == 1 ? y.to(at::kFloat).unsqueeze(1) : y.to(at::kFloat));
    s.info.target_width = s.train.target().size(1);
  } else {
    s.train = data::TensorDataset(x, y.to(at::kLong));
    s.info.classes = y.max().item<int64_t>() + 1;
  }
  return s;
}

/// What every kind shares: the validation split held out of training, and how loaders batch.
DataSplits with_loader(DataSplits s, const exp::components::LoaderParams& loader) {
  if (s.info.task == Task::Regression) s.info.target_width = s.train.target().size(1);
  auto [train, val] = split_off(s.train, loader.val_fraction, 0x5eed);
  s.train = train;
  s.val = val;
  s.batch_size = loader.batch_size;
  s.val_batch_size = loader.val_batch_size;
  s.workers = loader.workers;
  s.on_device = loader.on_device;
  return s;
}

}  // namespace

void add_data_factories(ComponentFactories& f) {
  using namespace exp::components;
  f.add<DataFamily>(fashion_mnist_data_spec(),
                    [](const FashionMnistDataConfig& c, const NoContext&) {
                      return with_loader(idx_images(c), c);
                    });
  f.add<DataFamily>(mnist_data_spec(), [](const MnistDataConfig& c, const NoContext&) {
    return with_loader(idx_images(c), c);
  });
  f.add<DataFamily>(synthetic_data_spec(), [](const SyntheticDataConfig& c, const NoContext&) {
    return with_loader(synthetic(c), c);
  });
  f.add<DataFamily>(csv_data_spec(), [](const CsvDataConfig& c, const NoContext&) {
    return with_loader(csv(c), c);
  });
  f.add<DataFamily>(text_data_spec(), [](const TextDataConfig& c, const NoContext&) {
    return with_loader(text(c), c);
  });
  f.add<DataFamily>(tensors_data_spec(), [](const TensorsDataConfig& c, const NoContext&) {
    return with_loader(tensors(c), c);
  });
}

bool keep_on_device(DataSplits& splits, const std::string& mode, c10::Device device,
                    int64_t auto_limit_bytes) {
  if (device.is_cpu() || mode == "never") return false;
  std::vector<data::TensorDataset*> all{&splits.train};
  if (splits.val) all.push_back(&*splits.val);
  if (splits.test) all.push_back(&*splits.test);
  int64_t bytes = 0;
  for (auto* ds : all) bytes += int64_t(ds->data().nbytes() + ds->target().nbytes());
  if (mode == "auto" && !(device.is_cuda() && bytes <= auto_limit_bytes)) return false;
  for (auto* ds : all) *ds = data::TensorDataset(ds->data().to(device), ds->target().to(device));
  return true;
}

at::Tensor augment_batch(const at::Tensor& images, const Augment& augment, at::Generator gen) {
  at::Tensor x = images;
  if (augment.random_crop > 0) {
    const int64_t pad = augment.random_crop, h = x.size(2), w = x.size(3);
    auto padded = at::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
    auto offsets = at::randint(0, 2 * pad + 1, {x.size(0), 2}, gen, at::kLong);
    auto acc = offsets.accessor<int64_t, 2>();
    auto out = at::empty_like(x);
    for (int64_t i = 0; i < x.size(0); ++i) {
      out[i].copy_(padded[i].narrow(1, acc[i][0], h).narrow(2, acc[i][1], w));
    }
    x = out;
  }
  if (augment.flip) {
    auto mask = at::rand({x.size(0)}, gen, at::kFloat).lt(0.5).view({-1, 1, 1, 1}).to(x.device());
    x = at::where(mask, x.flip({3}), x);
  }
  return x;
}

}  // namespace fabric::engine
