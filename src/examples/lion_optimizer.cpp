// Your own component, registered from your own program: the Lion optimizer (Chen et al. 2023,
// "Symbolic Discovery of Optimization Algorithms"). This file is the README's example; the test
// suite builds it and trains with `kind = "lion"` (tests/e2e/test_user_component.cpp).
//
//   lion-example recipe.toml [key=value ...]
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <iostream>

#include "engine/optimizer.hpp"  // OptimizerFamily, NetImpl
#include "engine/run.hpp"
#include "fabric/compat/torch_compat.hpp"

namespace {

// [readme-begin]
// The declaration: a typed config and one line per parameter. Validation, defaults,
// `fabric-exp docs` and the JSON Schema come from it; the factory receives the parsed config.
struct LionConfig {
  double lr = 1e-4;
  std::vector<double> betas = {0.9, 0.99};
  double weight_decay = 0.0;
};

const fabric::exp::ParamSpec<LionConfig>& lion_spec() {
  using namespace fabric::exp;
  static const auto spec =
      ParamSpec<LionConfig>("optimizer", "lion", "Lion: steps by the sign of a momentum.")
          .param(&LionConfig::lr, "lr", "Learning rate.")
          .alias("learning_rate")
          .check(gt(0))
          .param(&LionConfig::betas, "betas", "Update and momentum interpolation.")
          .check(ge(0))
          .check(lt(1))
          .param(&LionConfig::weight_decay, "weight_decay", "Decoupled weight decay.")
          .check(ge(0));
  return spec;
}
// [readme-end]

struct LionOptions : torch::optim::OptimizerCloneableOptions<LionOptions> {
  explicit LionOptions(const LionConfig& c) : config(c) {}
  LionConfig config;
  double get_lr() const override { return config.lr; }  // what schedules read and set
  void set_lr(const double lr) override { config.lr = lr; }
};

struct LionState : torch::optim::OptimizerCloneableParamState<LionState> {
  at::Tensor exp_avg;
};

class Lion : public torch::optim::Optimizer {
 public:
  Lion(std::vector<at::Tensor> params, const LionConfig& config)
      : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                  std::make_unique<LionOptions>(config)) {}

  at::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    at::Tensor loss = closure ? closure() : at::Tensor();
    for (auto& group : param_groups()) {
      const LionConfig& c = static_cast<LionOptions&>(group.options()).config;
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        at::Tensor& m = momentum(p);
        p.mul_(1 - c.lr * c.weight_decay);
        p.add_((m * c.betas[0] + p.grad() * (1 - c.betas[0])).sign_(), -c.lr);
        m.mul_(c.betas[1]).add_(p.grad(), 1 - c.betas[1]);
      }
    }
    return loss;
  }
  // Checkpoints keep the momentum of each parameter, in parameter order.
  void save(torch::serialize::OutputArchive& archive) const override {
    int64_t index = 0;
    for (const auto& group : param_groups()) {
      for (const auto& p : group.params()) {
        auto it = state().find(fabric::compat::optimizer_state_key(p));
        if (it != state().end()) {
          archive.write("exp_avg." + std::to_string(index),
                        static_cast<const LionState&>(*it->second).exp_avg, /*is_buffer=*/true);
        }
        ++index;
      }
    }
  }
  void load(torch::serialize::InputArchive& archive) override {
    int64_t index = 0;
    for (auto& group : param_groups()) {
      for (auto& p : group.params()) {
        at::Tensor saved;
        if (archive.try_read("exp_avg." + std::to_string(index++), saved, /*is_buffer=*/true))
          momentum(p) = saved.to(p.device());
      }
    }
  }

 private:
  at::Tensor& momentum(const at::Tensor& p) {
    auto& slot = state()[fabric::compat::optimizer_state_key(p)];
    if (!slot) {
      auto s = std::make_unique<LionState>();
      s->exp_avg = at::zeros_like(p);
      slot = std::move(s);
    }
    return static_cast<LionState&>(*slot).exp_avg;
  }
};

}  // namespace

int main(int argc, char** argv) {
  // [readme-begin]
  // The factory, and the one registration line: recipes may now say [optimizer] kind = "lion".
  fabric::engine::register_component<fabric::engine::OptimizerFamily>(
      lion_spec(), [](const LionConfig& c, fabric::engine::NetImpl& model) {
        return std::make_shared<Lion>(model.parameters(), c);
      });
  // [readme-end]
  if (argc < 2) {
    std::cerr << "usage: lion-example recipe.toml [key=value ...]\n";
    return 2;
  }
  try {
    return fabric::engine::run_recipe(
        {.recipe = argv[1], .overrides = std::vector<std::string>(argv + 2, argv + argc)});
  } catch (const std::exception& e) {
    std::cerr << "lion-example: " << e.what() << "\n";
    return 1;
  }
}
