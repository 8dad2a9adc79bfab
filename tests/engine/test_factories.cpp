// The engine's components on their own: schedules, models, optimizer groups, losses and metrics,
// built from recipes with every default filled in (as `fabric-exp run` builds them).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/callbacks.hpp"
#include "engine/component_factories.hpp"
#include "engine/loss.hpp"
#include "engine/metrics.hpp"
#include "engine/model.hpp"
#include "engine/optimizer.hpp"
#include "engine/scheduler.hpp"
#include "exp/recipe/recipe.hpp"

using namespace fabric::engine;

namespace {

/// A recipe's resolved table (defaults filled) from TOML text.
toml::table resolved(const std::string& text) {
  auto parsed = toml::parse(std::string_view(text), std::string_view("test.toml"));
  return fabric::exp::with_defaults(parsed);
}

const toml::table& sub(const toml::table& t, const char* key) {
  return *t[key].as_table();
}

/// The component of `t[Family::table]`, built by its registered factory.
template <class Family, class Context>
typename Family::Product build(const toml::table& t, Context&& context) {
  return component_factories().build<Family>(sub(t, Family::table), context);
}

std::vector<Metric> metrics_of(const toml::table& t, const DataInfo& info) {
  return build_each<MetricFamily>(t, [&](const std::string& where) {
    return MetricContext{info, where};
  });
}

double lr_at(const std::string& scheduler, int64_t step, int64_t total = 100, int64_t epoch = 0) {
  auto t = resolved("[scheduler]\n" + scheduler);
  Schedule s = build<SchedulerFamily>(t, RunLength{total, 10});
  return s.lr(1.0, step, epoch);
}

}  // namespace

TEST_CASE("schedules are functions of the step", "[engine][schedule]") {
  CHECK(lr_at("kind = \"constant\"", 50) == 1.0);
  CHECK(lr_at("kind = \"step\"\nstep_size = 10\ngamma = 0.5", 25) == Approx(0.25));
  CHECK(lr_at("kind = \"multistep\"\nmilestones = [10, 30]\ngamma = 0.1", 30) == Approx(0.01));
  CHECK(lr_at("kind = \"exponential\"\ngamma = 0.9", 2) == Approx(0.81));
  CHECK(lr_at("kind = \"cosine\"", 0) == Approx(1.0));
  CHECK(lr_at("kind = \"cosine\"", 50) == Approx(0.5));
  CHECK(lr_at("kind = \"cosine\"", 100) == Approx(0.0).margin(1e-12));
  CHECK(lr_at("kind = \"linear\"\nstart_factor = 1.0\nend_factor = 0.1", 100) == Approx(0.1));
  // PolynomialLR's closed form: base * (1 - min(t, total) / total)^power.
  CHECK(lr_at("kind = \"polynomial\"", 25) == Approx(0.75));
  CHECK(lr_at("kind = \"polynomial\"\npower = 2.0", 50) == Approx(0.25));
  CHECK(lr_at("kind = \"polynomial\"\npower = 2.0", 150) == Approx(0.0).margin(1e-12));
  // One-cycle: starts at max_lr / 25, peaks at max_lr after pct_start of the run, ends near zero.
  CHECK(lr_at("kind = \"one_cycle\"\nmax_lr = 0.5", 0) == Approx(0.02));
  CHECK(lr_at("kind = \"one_cycle\"\nmax_lr = 0.5", 30) == Approx(0.5));
  CHECK(lr_at("kind = \"one_cycle\"\nmax_lr = 0.5", 100) < 1e-5);
  // Warm-up ramps linearly, then the schedule runs over the remaining steps.
  CHECK(lr_at("kind = \"cosine\"\nwarmup_steps = 9", 0) == Approx(0.1));
  CHECK(lr_at("kind = \"cosine\"\nwarmup_steps = 9", 4) == Approx(0.5));
  CHECK(lr_at("kind = \"cosine\"\nwarmup_steps = 10", 10) == Approx(1.0));
  // Per-epoch schedules ignore the step.
  CHECK(lr_at("kind = \"step\"\ninterval = \"epoch\"\nstep_size = 2\ngamma = 0.1", 99, 100, 3) ==
        Approx(0.1));
}

TEST_CASE("apply sets every group from the rates it was bound to", "[engine][schedule]") {
  auto t = resolved("[scheduler]\nkind = \"step\"\nstep_size = 1\ngamma = 0.5\n");
  torch::nn::Linear lin(2, 2);
  torch::optim::SGD sgd(lin->parameters(), 0.4);
  Schedule s = build<SchedulerFamily>(t, RunLength{10, 1});
  CHECK_THROWS(s.apply(sgd, 0, 0));
  s.bind(sgd);
  s.apply(sgd, 3, 0);
  CHECK(group_lr(sgd.param_groups()[0]) == Approx(0.05));
  s.apply(sgd, 1, 0);  // from the bound base, not from the current rate
  CHECK(group_lr(sgd.param_groups()[0]) == Approx(0.2));
}

TEST_CASE("no_decay_bias_norm puts biases and norm scales in a group without weight decay",
          "[engine][optim]") {
  auto t = resolved(
      "[optimizer]\nkind = \"adamw\"\nweight_decay = 0.1\nno_decay_bias_norm = true\n"
      "[model]\nkind = \"mlp\"\nhidden = [8]\n");
  DataInfo info{Task::Classification, {4}, 3, 1};
  Net net = build<ModelFamily>(t, ModelInputs{info, 3});
  auto opt = build<OptimizerFamily>(t, *net);
  REQUIRE(opt->param_groups().size() == 2);
  CHECK(opt->param_groups()[0].params().size() == 2);  // the two weight matrices
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).weight_decay() ==
        0.1);
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay() ==
        0.0);
}

TEST_CASE("every model kind maps its inputs to the outputs the data needs", "[engine][models]") {
  torch::manual_seed(0);
  auto check = [](const std::string& model, DataInfo info, std::vector<int64_t> input,
                  std::vector<int64_t> out) {
    auto t = resolved("[model]\n" + model);
    Net net = build<ModelFamily>(t, ModelInputs{info, 5});
    auto x = info.task == Task::LanguageModel ? torch::randint(0, 256, input) : torch::randn(input);
    INFO(model);
    CHECK(net->forward(x).sizes().vec() == out);
  };
  check("kind = \"mlp\"", {Task::Classification, {1, 28, 28}, 5, 1}, {3, 1, 28, 28}, {3, 5});
  check("kind = \"cnn\"\nbatch_norm = true", {Task::Classification, {1, 28, 28}, 5, 1},
        {3, 1, 28, 28}, {3, 5});
  check("kind = \"resnet\"\nblocks = [1, 1]\nchannels = [8, 16]",
        {Task::Classification, {3, 32, 32}, 5, 1}, {2, 3, 32, 32}, {2, 5});
  check("kind = \"transformer_lm\"\nlayers = 1\nwidth = 32\nheads = 2\ncontext = 16",
        {Task::LanguageModel, {16}, 256, 1}, {2, 16}, {2, 16, 256});
  check(
      "kind = \"sequential\"\n[[model.layers]]\ntype = \"conv2d\"\nout = 4\n[[model.layers]]\ntype "
      "= \"batchnorm\"\n"
      "[[model.layers]]\ntype = \"relu\"\n[[model.layers]]\ntype = \"residual\"\n"
      "layers = [{type = \"conv2d\", out = 4}, {type = \"relu\"}]\n[[model.layers]]\ntype = "
      "\"maxpool2d\"\n"
      "[[model.layers]]\ntype = \"avgpool\"\n[[model.layers]]\ntype = \"linear\"\nout = 5\n",
      {Task::Classification, {1, 8, 8}, 5, 1}, {2, 1, 8, 8}, {2, 5});
  check(
      "kind = \"sequential\"\n[[model.layers]]\ntype = \"embedding\"\ndim = "
      "8\n[[model.layers]]\ntype = \"layernorm\"\n"
      "[[model.layers]]\ntype = \"gelu\"\n[[model.layers]]\ntype = \"dropout\"\np = 0.1\n"
      "[[model.layers]]\ntype = \"linear\"\nout = 5\n",
      {Task::LanguageModel, {6}, 256, 1}, {2, 6}, {2, 6, 5});
}

TEST_CASE("a transformer's heads must divide its width", "[engine][models]") {
  auto t = resolved("[model]\nkind = \"transformer_lm\"\nwidth = 30\nheads = 4\n");
  DataInfo info{Task::LanguageModel, {16}, 256, 1};
  CHECK_THROWS_WITH(build<ModelFamily>(t, ModelInputs{info, 256}),
                    Catch::Contains("heads (4) must divide width (30)"));
}

TEST_CASE("metrics are sums reduced once: accuracy, top-k, mse, mae, perplexity",
          "[engine][metrics]") {
  auto t = resolved(
      "[[metrics]]\nkind = \"accuracy\"\n[[metrics]]\nkind = \"top_k_accuracy\"\nk = 2\n"
      "[[metrics]]\nkind = \"perplexity\"\n");
  DataInfo info{Task::Classification, {2}, 3, 1};
  auto loss_t = resolved("[loss]\nkind = \"cross_entropy\"\n");
  auto loss = build<LossFamily>(loss_t, info).fn;
  MetricSet set(metrics_of(t, info), loss);
  auto logits = torch::tensor({{3.0, 2.0, 0.0}, {0.0, 1.0, 3.0}, {1.0, 3.0, 2.0}});
  auto target = torch::tensor({0, 1, 2}, torch::kLong);
  set.update(logits.slice(0, 0, 2), target.slice(0, 0, 2));  // two batches, one result
  set.update(logits.slice(0, 2), target.slice(0, 2));
  auto v = set.values(set.sums(), "val");
  CHECK(v["val/accuracy"] == Approx(1.0 / 3));
  CHECK(v["val/top_k_accuracy"] == Approx(1.0));  // every target is in its row's top two
  const double ce = torch::nn::functional::cross_entropy(logits, target).item<double>();
  CHECK(v["val/loss"] == Approx(ce));
  CHECK(v["val/perplexity"] == Approx(std::exp(ce)));

  DataInfo reg{Task::Regression, {2}, 0, 1};
  auto r = resolved("[[metrics]]\nkind = \"mse\"\n[[metrics]]\nkind = \"mae\"\n");
  auto mse_t = resolved("[loss]\nkind = \"mse\"\n");
  MetricSet rset(metrics_of(r, reg), build<LossFamily>(mse_t, reg).fn);
  rset.update(torch::tensor({{1.0}, {3.0}}), torch::tensor({{0.0}, {1.0}}));
  auto rv = rset.values(rset.sums(), "test");
  CHECK(rv["test/mse"] == Approx(2.5));
  CHECK(rv["test/mae"] == Approx(1.5));
  // Each metric declares what its best value is; nothing is guessed from a name.
  const auto low = set.lower_is_better("val");
  CHECK(low == std::map<std::string, bool>{{"val/accuracy", false},
                                           {"val/loss", true},
                                           {"val/perplexity", true},
                                           {"val/top_k_accuracy", false}});
  CHECK(rset.lower_is_better("test") ==
        std::map<std::string, bool>{{"test/loss", true}, {"test/mae", true}, {"test/mse", true}});
  // A metric that does not fit the task says so.
  CHECK_THROWS_WITH(metrics_of(t, reg), Catch::Contains("needs class targets"));
}

TEST_CASE("a user callback kind plugs into the registry", "[engine][callbacks]") {
  struct CounterConfig {
    int64_t step = 1;
  };
  struct Counter : EngineCallback {
    Counter(int64_t* total, int64_t step) {
      on("on_train_epoch_end", [total, step](const fabric::HookArgs&) { *total += step; });
    }
  };
  static const auto spec =
      fabric::exp::ParamSpec<CounterConfig>("callbacks", "counter", "Counts epochs.")
          .param(&CounterConfig::step, "step", "Added per epoch.")
          .alias("increment");
  static int64_t total = 0;
  register_component<CallbackFamily>(spec, [](const CounterConfig& c, const NoContext&) {
    return std::make_shared<Counter>(&total, c.step);
  });
  CHECK(fabric::exp::global_registry().find("callbacks", "counter") != nullptr);
  CHECK_THROWS_WITH(register_component<CallbackFamily>(
                        spec, [](const CounterConfig&, const NoContext&) { return nullptr; }),
                    Catch::Contains("Key already registered"));
  // The alias reaches the typed config.
  toml::table recipe{{"callbacks", toml::array{toml::table{{"kind", "counter"}, {"increment", 3}},
                                               toml::table{{"kind", "nope"}}}}};
  const toml::table& first = *(*recipe["callbacks"].as_array())[0].as_table();
  auto cb = component_factories().build<CallbackFamily>(first, NoContext{});
  cb->invoke("on_train_epoch_end", {});
  CHECK(total == 3);
  CHECK_THROWS_WITH(
      build_each<CallbackFamily>(recipe, [](const std::string&) { return NoContext{}; }),
      Catch::Contains("[callbacks[1]] kind 'nope' is not supported yet"));
}
