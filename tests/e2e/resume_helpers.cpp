#include "e2e/resume_helpers.hpp"

// LibTorch's logging before Catch2: Debian's 1.13 logs through glog, whose CHECK macro must give
// way to Catch2's, not replace it.
#include <c10/util/Logging.h>
#include <catch2/catch.hpp>

#include <ATen/ATen.h>

#include <csignal>
#include <map>

#include "e2e/run_helpers.hpp"
#include "fabric/checkpoint/checkpoint_io.hpp"

namespace e2e::resume {

using test_support::TempDir;

namespace {

/// The model tensors of a checkpoint, by name.
std::map<std::string, at::Tensor> model_tensors(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  auto dict = fabric::read_checkpoint_file(path).toGenericDict();
  for (const auto& item : dict.at(c10::IValue("model")).toGenericDict()) {
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

}  // namespace

std::set<std::string> checkpoint_model_keys(const std::string& path) {
  std::set<std::string> out;
  for (const auto& [name, tensor] : model_tensors(path)) out.insert(name);
  return out;
}

int interrupt_run(const TempDir& dir, const std::string& args, int sig) {
  return signal_when(dir, args, "^run ", 0.8, sig);
}

std::string sigtermed_quickstart(const TempDir& dir) {
  REQUIRE(interrupt_run(dir, "run " + q(recipe("quickstart.toml")) + kLongRun, SIGTERM) == 143);
  return query_one(dir, "SELECT id FROM runs");
}

void require_same_weights(const TempDir& dir, const std::string& a_id, const std::string& b_id) {
  auto last = [&](const std::string& id) {
    return model_tensors(query_one(dir, "SELECT run_dir FROM runs WHERE id = " + q(id)) +
                         "/checkpoints/last.ckpt");
  };
  auto a = last(a_id), b = last(b_id);
  REQUIRE(a.size() == b.size());
  for (const auto& [k, t] : a) {
    INFO(k);
    CHECK(at::equal(t, b.at(k)));
  }
}

void require_same_metrics(const TempDir& dir, const std::string& a, const std::string& b) {
  const std::string& rows = reproducible_metrics;
  auto differing =
      query(dir, "SELECT a.key, a.step, a.value, b.value FROM " + rows + " a JOIN " + rows +
                     " b ON a.key = b.key AND a.step = b.step WHERE a.run_id = " + q(a) +
                     " AND b.run_id = " + q(b) + " AND a.value != b.value");
  for (const auto& row : differing) INFO(row[0] + " @" + row[1] + ": " + row[2] + " vs " + row[3]);
  CHECK(differing.empty());
  auto missing =
      query(dir, "SELECT key, step FROM " + rows + " WHERE run_id = " + q(a) +
                     " EXCEPT SELECT key, step FROM " + rows + " WHERE run_id = " + q(b));
  for (const auto& row : missing) INFO("missing after resume: " + row[0] + " @" + row[1]);
  CHECK(missing.empty());
  CHECK(query_one(dir, "SELECT count(*) FROM " + rows + " WHERE run_id = " + q(a)) ==
        query_one(dir, "SELECT count(*) FROM " + rows + " WHERE run_id = " + q(b)));
}

}  // namespace e2e::resume
