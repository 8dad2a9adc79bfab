// Trains a small CNN on Fashion-MNIST with the Fabric API alone, then reports test accuracy.
//
//   build/src/fashion-mnist-example --epochs 2 [--data /usr/share/datasets/fashion-mnist]
//                                   [--precision bf16-mixed] [--checkpoint out.pt]
//                                   [--store runs/fabric-exp.db] [--limit-batches N]
//
// With --store, every metric logged by fabric.log_dict is recorded as a run of the store (a
// fabric::StoreLogger), which `fabric-exp runs`, `fabric-exp metrics` and the web UI read.
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>

#include "fabric/data/idx.hpp"
#include "fabric/fabric.hpp"
#include "fabric/loggers/store_logger.hpp"

namespace {

struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv1(register_module("conv1",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)))),
        conv2(register_module("conv2",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
        fc1(register_module("fc1", torch::nn::Linear(64 * 7 * 7, 128))),
        fc2(register_module("fc2", torch::nn::Linear(128, 10))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2(x)), 2);
    x = torch::relu(fc1(x.flatten(1)));
    return fc2(x);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Net);

fabric::data::TensorDataset load_split(const std::string& dir, const std::string& prefix) {
  auto images = fabric::data::read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  auto labels = fabric::data::read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  // Fashion-MNIST's training mean and standard deviation.
  auto x = (images.to(torch::kFloat32).div_(255.0).sub_(0.2860).div_(0.3530)).unsqueeze(1);
  return {x, labels.to(torch::kLong)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fashion-MNIST CNN trained with the fabric-exp Fabric library"};
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string precision = "32-true";
  std::string accelerator = "auto";
  std::string checkpoint;
  std::string store;
  int64_t limit_batches = 0;
  int epochs = 2;
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t seed = 42;
  app.add_option("--data", data_dir, "Folder with the gzipped IDX files");
  app.add_option("--epochs", epochs, "Training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch_size, "Batch size")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate");
  app.add_option("--precision", precision, "Fabric precision");
  app.add_option("--accelerator", accelerator, "cpu, cuda or auto");
  app.add_option("--seed", seed, "Global seed");
  app.add_option("--checkpoint", checkpoint, "Write a checkpoint here at the end");
  app.add_option("--store", store,
                 "Record the run in this run store (a path or postgresql:// URL)");
  app.add_option("--limit-batches", limit_batches, "Train on this many batches per epoch (0: all)")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    std::vector<std::shared_ptr<fabric::Logger>> loggers;
    if (!store.empty())
      loggers.push_back(std::make_shared<fabric::StoreLogger>(
          fabric::StoreLoggerOptions{.store = store, .name = "fashion-mnist-example"}));
    fabric::Fabric fabric({.accelerator = accelerator, .precision = precision, .loggers = loggers});
    fabric.launch();
    fabric.seed_everything(seed);

    auto train = load_split(data_dir, "train");
    auto test = load_split(data_dir, "t10k");
    fabric::DataLoader train_loader(train, {.batch_size = batch_size, .shuffle = true});
    fabric::DataLoader test_loader(test, {.batch_size = 1000});

    Net net;
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(lr));
    auto [model, optimizer] = fabric.setup(net, adam);
    auto [train_data, test_data] = fabric.setup_dataloaders(train_loader, test_loader);

    auto start = std::chrono::steady_clock::now();
    int64_t step = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      model.train();
      double loss_sum = 0;
      int64_t batches = 0;
      for (auto& batch : train_data) {
        auto loss = torch::nn::functional::cross_entropy(model(batch.data), batch.target);
        fabric.backward(loss);
        optimizer.step();
        optimizer.zero_grad();
        const double value = loss.item<double>();
        loss_sum += value;
        fabric.log_dict({{"train/loss", value}, {"epoch", double(epoch)}}, step++);
        if (++batches == limit_batches) break;
      }
      fabric.print("epoch", epoch, "train_loss", loss_sum / double(batches));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    model.eval();
    torch::NoGradGuard no_grad;
    int64_t correct = 0, total = 0;
    for (auto& batch : test_data) {
      correct += model(batch.data).argmax(1).eq(batch.target).sum().item<int64_t>();
      total += batch.target.size(0);
    }
    double accuracy = double(correct) / double(total);
    fabric.print("test_accuracy", accuracy, "train_seconds", seconds);
    fabric.log("test/accuracy", accuracy, step);
    if (!checkpoint.empty()) {
      fabric.save(checkpoint, {{"model", model}, {"optimizer", optimizer}, {"epochs", epochs}});
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
