// log / log_dict and the CSV and TensorBoard loggers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fabric/fabric.hpp"
#include "fabric/loggers/crc32c.hpp"
#include "fabric/loggers/csv_logger.hpp"
#include "fabric/loggers/tensorboard_logger.hpp"
#include "support/helpers.hpp"

namespace fs = std::filesystem;
using test_support::TempDir;

namespace {
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct RecordingLogger : fabric::Logger {
  std::string name() const override { return "rec"; }
  std::string version() const override { return "0"; }
  void log_metrics(const std::map<std::string, double>& m, std::optional<int64_t> step) override {
    calls.push_back({m, step});
  }
  std::vector<std::pair<std::map<std::string, double>, std::optional<int64_t>>> calls;
};
}  // namespace

TEST_CASE("log and log_dict reach every logger with the step", "[fabric][loggers]") {
  auto a = std::make_shared<RecordingLogger>(), b = std::make_shared<RecordingLogger>();
  fabric::Fabric f({.accelerator = "cpu", .loggers = {a, b}});
  CHECK(&f.logger() == a.get());
  f.log("loss", 0.5, 3);
  f.log_dict({{"acc", torch::tensor(0.75)}, {"one", torch::ones({1, 1})}}, 4);
  f.log("x", 1.0);
  for (auto& lg : {a, b}) {
    REQUIRE(lg->calls.size() == 3);
    CHECK(lg->calls[0].first.at("loss") == 0.5);
    CHECK(lg->calls[0].second == 3);
    CHECK(lg->calls[1].first.at("acc") == 0.75);
    CHECK(lg->calls[1].first.at("one") == 1.0);
    CHECK_FALSE(lg->calls[2].second.has_value());
  }
  CHECK_THROWS_WITH(
      f.log("vec", torch::ones({2})),
      Catch::Contains(
          "does not contain a single element, thus it cannot be converted to a scalar"));
  fabric::Fabric none({.accelerator = "cpu"});
  CHECK_THROWS_AS(none.logger(), fabric::Error);
  CHECK_NOTHROW(none.log("loss", 1.0));
}

TEST_CASE("CSVLogger: layout, versions, sorted header, widening", "[fabric][loggers][csv]") {
  TempDir dir;
  {
    fabric::CSVLogger first({.root_dir = dir.str(), .name = "exp"});
    CHECK(first.version() == "version_0");
    first.log_metrics({{"b", 1.0}, {"a", 2.0}}, 0);
    first.log_metrics({{"b", 3.0}, {"a", 4.0}}, 1);
    first.save();
    CHECK(read_lines(first.metrics_file()) ==
          std::vector<std::string>{"a,b,step", "2,1,0", "4,3,1"});
    first.log_metrics({{"c", 5.5}}, 2);  // a new key rewrites the file with the wider header
    first.save();
    CHECK(read_lines(first.metrics_file()) ==
          std::vector<std::string>{"a,b,c,step", "2,1,,0", "4,3,,1", ",,5.5,2"});
    fs::create_directories(dir.str("exp/version_nonumber"));
  }
  fabric::CSVLogger second({.root_dir = dir.str(), .name = "exp"});
  CHECK(second.version() == "version_1");
  CHECK(second.log_dir() == dir.str("exp/version_1"));
  fabric::CSVLogger named({.root_dir = dir.str(), .name = "", .version = std::string("mine")});
  CHECK(named.log_dir() == dir.str("mine"));
  fabric::CSVLogger numbered({.root_dir = dir.str(), .name = "exp", .version = 7});
  CHECK(numbered.version() == "version_7");
}

TEST_CASE("CSVLogger: automatic steps keep counting across flushes", "[fabric][loggers][csv]") {
  TempDir dir;
  fabric::CSVLogger lg({.root_dir = dir.str(), .prefix = "train", .flush_logs_every_n_steps = 2});
  for (int i = 0; i < 5; ++i) lg.log_metrics({{"loss", double(i)}}, std::nullopt);
  lg.save();
  auto lines = read_lines(lg.metrics_file());
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "step,train-loss");
  CHECK(lines[5] == "4,4");
}

TEST_CASE("CSVLogger warns and replaces an existing metrics file", "[fabric][loggers][csv]") {
  TempDir dir;
  fs::create_directories(dir.str("lightning_logs/version_0"));
  std::ofstream(dir.str("lightning_logs/version_0/metrics.csv")) << "old\n";
  test_support::LogCapture log;
  fabric::CSVLogger lg({.root_dir = dir.str(), .version = 0});
  lg.log_metrics({{"x", 1}}, 0);
  lg.save();
  CHECK(log.contains("exists and is not empty"));
  CHECK(read_lines(lg.metrics_file()) == std::vector<std::string>{"step,x", "0,1"});
}

TEST_CASE("crc32c matches the standard check values", "[fabric][loggers][tensorboard]") {
  CHECK(fabric::detail::crc32c("123456789", 9) == 0xE3069283u);
  const std::string zeros(32, '\0');
  CHECK(fabric::detail::crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
}

TEST_CASE("TensorBoard event file: framing, CRCs and scalar events",
          "[fabric][loggers][tensorboard]") {
  TempDir dir;
  fabric::TensorBoardLogger lg({.root_dir = dir.str(), .name = "tb", .sub_dir = "train"});
  lg.log_metrics({{"loss", 0.25}}, 7);
  lg.finalize("success");
  CHECK(lg.log_dir() == dir.str("tb/version_0/train"));
  REQUIRE(fs::exists(lg.event_file()));
  CHECK(fs::path(lg.event_file()).filename().string().rfind("events.out.tfevents.", 0) == 0);

  std::ifstream in(lg.event_file(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> events;
  size_t pos = 0;
  while (pos < bytes.size()) {
    REQUIRE(pos + 12 <= bytes.size());
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, bytes.data() + pos, 8);
    std::memcpy(&len_crc, bytes.data() + pos + 8, 4);
    CHECK(len_crc == fabric::detail::masked_crc32c(bytes.data() + pos, 8));
    std::string event = bytes.substr(pos + 12, len);
    std::memcpy(&data_crc, bytes.data() + pos + 12 + len, 4);
    CHECK(data_crc == fabric::detail::masked_crc32c(event.data(), event.size()));
    events.push_back(event);
    pos += 12 + len + 4;
  }
  REQUIRE(events.size() == 2);
  CHECK(events[0].find("brain.Event:2") != std::string::npos);
  // The scalar event is exactly what the encoder produces for this tag, step and value (bar the
  // wall time, which sits in the first 9 bytes).
  auto expected = fabric::TensorBoardLogger::encode_scalar_event(0.0, 7, "loss", 0.25f);
  CHECK(events[1].substr(9) == expected.substr(9));
  CHECK(events[1].find("loss") != std::string::npos);
}

TEST_CASE("TensorBoard's own reader accepts our event files",
          "[fabric][loggers][tensorboard][python]") {
  if (!test_support::python_has("tensorboard.backend.event_processing.event_accumulator"))
    FABRIC_SKIP("TensorBoard does not import in the build's Python (tools/torch_venv has it)");
  TempDir dir;
  fabric::TensorBoardLogger lg({.root_dir = dir.str()});
  lg.log_metrics({{"acc", 0.5}}, 3);
  lg.finalize("success");
  auto py = test_support::run_command(
      *test_support::python_with_torch() +
      " -c \"from tensorboard.backend.event_processing.event_accumulator import "
      "EventAccumulator as E; "
      "e=E('" +
      lg.log_dir() + "'); e.Reload(); s=e.Scalars('acc'); print(s[0].step, s[0].value)\"");
  INFO(py.output);
  CHECK(py.output.find("3 0.5") != std::string::npos);
}
