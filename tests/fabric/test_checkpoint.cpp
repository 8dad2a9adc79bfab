// save / load / load_raw and Python interop.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <torch/csrc/jit/serialization/pickle.h>

#include "fabric/fabric.hpp"
#include "support/helpers.hpp"
#include "support/nets.hpp"

using fabric::Fabric;
using test_support::TempDir;
using test_support::TinyNet;
namespace fs = std::filesystem;

namespace {
void train_steps(Fabric& f, fabric::FabricModule<TinyNet>& model, fabric::FabricOptimizer& opt,
                 int n) {
  for (int i = 0; i < n; ++i) {
    f.backward(model(torch::randn({4, 4})).pow(2).sum());
    opt.step();
    opt.zero_grad();
  }
}
}  // namespace

TEST_CASE("save and load restore models, optimizers and plain values", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.01).betas({0.8, 0.9}));
  auto [model, opt] = f.setup(net, adam);
  train_steps(f, model, opt, 3);
  int64_t step = 3;
  f.save(dir.str("ckpt.pt"), {{"model", model},
                              {"optimizer", opt},
                              {"step", fabric::ref(step)},
                              {"lr", 0.5},
                              {"name", "run-1"},
                              {"tensor", torch::arange(4)},
                              {"nested", fabric::State{{"epoch", 2}, {"flag", true}}}});

  TinyNet net2;
  torch::optim::Adam adam2(net2->parameters(), 0.1);
  int64_t step2 = 0;
  fabric::State state{
      {"model", net2}, {"optimizer", adam2}, {"step", fabric::ref(step2)}, {"lr", 0.0}};
  auto rest = f.load(dir.str("ckpt.pt"), state);
  CHECK(step2 == 3);
  CHECK(state.at("lr").to_double() == 0.5);
  CHECK(rest.keys() == std::vector<std::string>{"name", "tensor", "nested"});
  CHECK(rest.at("name").to_string() == "run-1");
  CHECK(torch::equal(rest.at("tensor").to_tensor(), torch::arange(4)));
  CHECK(rest.at("nested").value().toGenericDict().at("epoch").toInt() == 2);
  for (auto [a, b] : {std::pair{net->fc1->weight, net2->fc1->weight},
                      std::pair{net->fc2->bias, net2->fc2->bias}}) {
    CHECK(torch::equal(a, b));
  }
  auto& opts = static_cast<torch::optim::AdamOptions&>(adam2.param_groups()[0].options());
  CHECK(opts.lr() == 0.01);
  CHECK(std::get<0>(opts.betas()) == 0.8);
  auto& st = static_cast<torch::optim::AdamParamState&>(*adam2.state().begin()->second);
  CHECK(st.step() == 3);

  // The restored pair continues exactly like the original.
  auto x = torch::randn({4, 4});
  auto run = [&](TinyNet& n, torch::optim::Adam& o) {
    o.zero_grad();
    n->forward(x).pow(2).sum().backward();
    o.step();
    return n->fc1->weight.detach().clone();
  };
  CHECK(torch::equal(run(net, adam), run(net2, adam2)));
}

TEST_CASE("load with an empty state returns everything", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  f.save(dir.str("c.pt"), {{"a", 1}, {"b", "two"}});
  auto all = f.load(dir.str("c.pt"));
  CHECK(all.keys() == std::vector<std::string>{"a", "b"});
  fabric::State empty;
  CHECK(f.load(dir.str("c.pt"), empty).size() == 2);
}

TEST_CASE("strict and non-strict loading", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  f.save(dir.str("c.pt"), {{"a", 1}});
  fabric::State wants{{"a", 0}, {"c", 7}};
  CHECK_THROWS_WITH(
      f.load(dir.str("c.pt"), wants),
      Catch::Contains(
          "The requested state contains a key 'c' that does not exist in the loaded checkpoint"));
  auto rest = f.load(dir.str("c.pt"), wants, /*strict=*/false);
  CHECK(wants.at("a").to_int() == 1);
  CHECK(wants.at("c").to_int() == 7);  // kept, and not in the remainder
  CHECK(rest.empty());

  // strict also governs the model's keys
  TinyNet small;
  f.save(dir.str("m.pt"), {{"model", small}});
  test_support::BnNet other;
  fabric::State s{{"model", other}};
  CHECK_THROWS_WITH(f.load(dir.str("m.pt"), s), Catch::Contains("Missing key(s) in state_dict"));
  auto seq = std::make_shared<torch::nn::SequentialImpl>(torch::nn::Linear(4, 8));
  fabric::State s2{{"model", seq}};
  CHECK_THROWS_WITH(f.load(dir.str("m.pt"), s2),
                    Catch::Contains("Unexpected key(s) in state_dict"));
}

TEST_CASE("a shape mismatch is an error even without strict", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  TinyNet a(4, 8, 2), b(4, 16, 2);
  f.save(dir.str("m.pt"), {{"model", a}});
  fabric::State s{{"model", b}};
  CHECK_THROWS_WITH(f.load(dir.str("m.pt"), s, false),
                    Catch::Contains("size mismatch for fc1.weight"));
}

TEST_CASE("save filter keeps matching items and drops emptied keys", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  TinyNet net;
  fabric::SaveFilter filter{
      {"model", [](const std::string& k, const c10::IValue&) { return k.find("fc1") == 0; }},
      {"other", [](const std::string&, const c10::IValue&) { return false; }}};
  fabric::State other{{"x", 1}};
  f.save(dir.str("f.pt"), {{"model", net}, {"other", other}, {"plain", 3}}, filter);
  auto all = f.load(dir.str("f.pt"));
  CHECK(all.keys() == std::vector<std::string>{"model", "plain"});
  auto sd = all.at("model").value().toGenericDict();
  CHECK(sd.size() == 2);
  CHECK(sd.contains("fc1.weight"));
  CHECK_THROWS_WITH(
      f.save(dir.str("g.pt"), {{"model", net}},
             {{"nope", [](const std::string&, const c10::IValue&) { return true; }}}),
      Catch::Contains("The filter keys {'nope'} are not present in the state keys {'model'}"));
  CHECK_THROWS_AS(f.save(dir.str("g.pt"), {{"model", net}}, {{"model", nullptr}}),
                  fabric::TypeError);
}

TEST_CASE("checkpoint writes are atomic and errors name the file", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  f.save(dir.str("sub/dir/c.pt"), {{"a", 1}});  // parents are created
  f.save(dir.str("sub/dir/c.pt"), {{"a", 2}});  // replaced atomically
  CHECK(f.load(dir.str("sub/dir/c.pt")).at("a").to_int() == 2);
  for (const auto& e : fs::directory_iterator(dir.str("sub/dir"))) {
    CHECK(e.path().filename() == "c.pt");  // no temporary files left behind
  }
  CHECK_THROWS_AS(f.load(dir.str("missing.pt")), fabric::FileNotFoundError);
  CHECK_THROWS_WITH(f.load(dir.str("missing.pt")), Catch::Contains("Checkpoint file not found: "));
  fs::create_directories(dir.str("swapped.ckpt.old"));  // a sharded swap cut short
  CHECK_THROWS_WITH(f.load(dir.str("swapped.ckpt")),
                    Catch::Contains("swapped.ckpt.old is the previous checkpoint"));
  std::ofstream(dir.str("garbage.pt")) << "not a zip";
  CHECK_THROWS_WITH(f.load(dir.str("garbage.pt")), Catch::Contains("is not a readable checkpoint"));
  fs::create_directories(dir.str("adir"));
  CHECK_THROWS_WITH(f.save(dir.str("adir"), {{"a", 1}}), Catch::Contains("it is a directory"));
  // A truncated checkpoint never replaces a good one: the good one stays readable.
  auto size = fs::file_size(dir.str("sub/dir/c.pt"));
  CHECK(size > 0);
}

TEST_CASE("integer buffers keep their dtype through save and load", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu", .precision = "bf16-true"});
  test_support::BnNet net;
  auto model = f.setup(net);
  model(torch::randn({5, 4}));
  f.save(dir.str("bn.pt"), {{"model", model}});
  auto sd = f.load(dir.str("bn.pt")).at("model").value().toGenericDict();
  CHECK(sd.at("bn.num_batches_tracked").toTensor().scalar_type() == torch::kLong);
  CHECK(sd.at("bn.num_batches_tracked").toTensor().item<int64_t>() == 1);
  CHECK(sd.at("fc.weight").toTensor().scalar_type() == torch::kBFloat16);
}

TEST_CASE("load_raw reads bare state dicts and LibTorch archives", "[fabric][checkpoint]") {
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  TinyNet src, dst;
  torch::save(src, dir.str("libtorch_module.pt"));
  f.load_raw(dir.str("libtorch_module.pt"), dst);
  CHECK(torch::equal(src->fc1->weight, dst->fc1->weight));

  TinyNet other;
  f.save(dir.str("ours.pt"), {{"model", src}});
  auto sd = f.load(dir.str("ours.pt")).at("model").value();
  auto raw = c10::IValue(sd);
  fabric::State only{{"w", raw}};
  // a bare {name: tensor} file
  std::vector<char> bytes = torch::pickle_save(sd);
  std::ofstream(dir.str("bare.pt"), std::ios::binary).write(bytes.data(), long(bytes.size()));
  f.load_raw(dir.str("bare.pt"), other);
  CHECK(torch::equal(src->fc2->bias, other->fc2->bias));

  torch::optim::SGD sgd(src->parameters(), torch::optim::SGDOptions(0.3).momentum(0.9));
  src->forward(torch::randn({2, 4})).sum().backward();
  sgd.step();
  torch::save(sgd, dir.str("libtorch_opt.pt"));
  torch::optim::SGD sgd2(other->parameters(), torch::optim::SGDOptions(0.1));
  f.load_raw(dir.str("libtorch_opt.pt"), sgd2);
  // LibTorch's archive restores per-parameter state (not group options, as torch::load itself).
  auto buffer = [](torch::optim::SGD& o, const at::Tensor& p) {
    return static_cast<torch::optim::SGDParamState&>(
               *o.state().at(fabric::compat::optimizer_state_key(p)))
        .momentum_buffer();
  };
  CHECK(torch::equal(buffer(sgd2, other->fc1->weight), buffer(sgd, src->fc1->weight)));
  CHECK_THROWS_AS(f.load_raw(dir.str("nothing.pt"), other), fabric::FileNotFoundError);
}

TEST_CASE("Python reads our checkpoints and we read Python's state dicts",
          "[fabric][checkpoint][python]") {
  if (!test_support::python_with_torch())
    FABRIC_SKIP("no Python with torch (apt-get install python3-torch)");
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  f.seed_everything(7, true, false);
  auto net = std::make_shared<torch::nn::SequentialImpl>(torch::nn::Linear(4, 8), torch::nn::ReLU(),
                                                         torch::nn::Linear(8, 2));
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.01));
  auto [model, opt] = f.setup(net, adam);
  for (int i = 0; i < 2; ++i) {
    f.backward(model(torch::randn({3, 4})).sum());
    opt.step();
    opt.zero_grad();
  }
  f.save(dir.str("cpp.pt"),
         {{"model", model}, {"optimizer", opt}, {"iteration", 42}, {"note", "hi"}});

  auto r = test_support::run_python(R"(
import torch
ck = torch.load(")" + dir.str("cpp.pt") +
                                    R"(")
assert ck["iteration"] == 42 and ck["note"] == "hi", ck
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
net.load_state_dict(ck["model"])
opt = torch.optim.Adam(net.parameters(), lr=0.5)
opt.load_state_dict(ck["optimizer"])
assert abs(opt.param_groups[0]["lr"] - 0.01) < 1e-12
assert float(opt.state[opt.param_groups[0]["params"][0]]["step"]) == 2.0
x = torch.ones(1, 4)
torch.save({"out": net(x).detach(), "n": 2}, ")" +
                                    dir.str("py_out.pt") + R"(")
torch.save(dict(net.state_dict()), ")" +
                                    dir.str("py_sd.pt") + R"(")
torch.save(net.state_dict(), ")" + dir.str("py_ordered.pt") +
                                    R"(")
torch.save({"only": 1}, ")" + dir.str("py_single.pt") +
                                    R"(")
from collections import OrderedDict
sd = net.state_dict()
torch.save({"models": [sd, OrderedDict(w=torch.ones(2))], "one": [7], "deep": {"a": {"b": sd}},
            "empty": OrderedDict(), "again": sd}, ")" +
                                    dir.str("py_mixed.pt") + R"(")
print("ok")
)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto out = f.load(dir.str("py_out.pt")).at("out").to_tensor();
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(out, net->forward(torch::ones({1, 4}))));

  auto fresh = std::make_shared<torch::nn::SequentialImpl>(
      torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Linear(8, 2));
  f.load_raw(dir.str("py_sd.pt"), fresh);
  CHECK(torch::equal(fresh->parameters()[0], net->parameters()[0]));
  // Python's state_dict() is an OrderedDict (LibTorch's unpickler alone reads it as None), and
  // Python writes one-entry dicts with SETITEM (which LibTorch 1.13 alone cannot read).
  auto ordered = std::make_shared<torch::nn::SequentialImpl>(
      torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Linear(8, 2));
  f.load_raw(dir.str("py_ordered.pt"), ordered);
  for (size_t i = 0; i < net->parameters().size(); ++i)
    CHECK(torch::equal(ordered->parameters()[i], net->parameters()[i]));
  CHECK(f.load(dir.str("py_single.pt")).at("only").to_int() == 1);
  // OrderedDicts in lists and nested dicts, one memoized OrderedDict referenced twice, an empty
  // one, a one-item list; no trace of the _metadata state each state_dict() carries.
  auto mixed = f.load(dir.str("py_mixed.pt"));
  auto models = mixed.at("models").value().toListRef();
  REQUIRE(models.size() == 2);
  auto sd = models[0].toGenericDict();
  CHECK(sd.size() == 4);
  CHECK(torch::equal(sd.at("2.bias").toTensor(), net->parameters()[3]));
  CHECK(torch::equal(models[1].toGenericDict().at("w").toTensor(), torch::ones({2})));
  CHECK(mixed.at("one").value().toListRef().at(0).toInt() == 7);
  auto deep = mixed.at("deep").value().toGenericDict().at("a").toGenericDict().at("b");
  CHECK(deep.toGenericDict().size() == 4);
  CHECK(mixed.at("empty").value().toGenericDict().empty());
  CHECK(mixed.at("again").value().toGenericDict().size() == 4);
}

TEST_CASE("checkpoints load with Python's torch.load(weights_only=True)",
          "[fabric][checkpoint][python]") {
  if (!test_support::python_with_torch())
    FABRIC_SKIP("no Python with torch (apt-get install python3-torch)");
  TempDir dir;
  Fabric f({.accelerator = "cpu"});
  auto net =
      std::make_shared<torch::nn::SequentialImpl>(torch::nn::Linear(4, 8), torch::nn::Linear(8, 2));
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.01));
  auto [model, opt] = f.setup(net, adam);
  f.backward(model(torch::randn({3, 4})).sum());
  opt.step();
  f.save(dir.str("full.pt"), {{"model", model},
                              {"optimizer", opt},
                              {"iteration", 42},
                              {"hidden", c10::IValue(std::vector<int64_t>{64, 64})}});
  f.save(dir.str("weights.pt"), {{"model", model}, {"iteration", 42}});
  auto r = test_support::run_python(R"(
import pickletools, zipfile, torch
# 1. The safe loader itself. LibTorch 1.13's Python (Debian's) lacks the BINFLOAT opcode in it (a
#    1.13 bug: it refuses Python's own checkpoints holding a float), so it reads the float-free one.
ck = torch.load(")" + dir.str("weights.pt") +
                                    R"(", weights_only=True)
assert ck["iteration"] == 42 and ck["model"]["0.weight"].shape == (8, 4), ck
# 2. What the safe loader of PyTorch 2.x allows, checked on every opcode of the full checkpoint:
#    no global but tensor rebuilding, storages and OrderedDict (LibTorch's typed containers,
#    torch.jit._pickle.restore_type_tag and build_intlist, were what made it refuse ours).
allowed = {"torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_parameter",
           "collections OrderedDict"}
with zipfile.ZipFile(")" + dir.str("full.pt") +
                                    R"(") as z:
    name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    for op, arg, _ in pickletools.genops(z.read(name)):
        if op.name in ("GLOBAL", "STACK_GLOBAL", "INST", "OBJ"):
            assert arg in allowed or (arg.startswith("torch ") and arg.endswith("Storage")), arg
full = torch.load(")" + dir.str("full.pt") +
                                    R"(")
assert full["hidden"] == [64, 64] and full["optimizer"]["param_groups"][0]["lr"] == 0.01
print("ok")
)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // And LibTorch reads its own untyped containers back.
  auto back = f.load(dir.str("full.pt"));
  CHECK(back.at("iteration").to_int() == 42);
}
