// What the web UI's server costs at scale: a store of 10,000 runs (each with a few metrics and
// parameters) and one run with a 100,000-point metric, served by the real server on a loopback
// port, asked over HTTP as the pages ask.
//
//   build/tools/bench/bench-ui [--runs 10000] [--points 100000] [--repeats 20]
//
// Figures: the median and the worst of `repeats` requests, wall time at the client (the server's
// time plus a loopback round trip), and the server process's peak resident memory. Then the
// long metric downsampled both ways, side by side: read whole into memory and LTTB'd (how the
// server did it first), and streamed from the store through LttbStream (how it does it now),
// each with the peak resident memory it added (Linux's VmHWM, reset before each; the stream goes
// first, so memory the other freed cannot hide its own).
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "store/run_store.hpp"
#include "ui/lttb.hpp"
#include "ui/server.hpp"

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
long peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}
/// A line of /proc/self/status in kB (VmRSS: now, VmHWM: the peak since the last reset).
double status_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  return 0;
}
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The web UI's response times over a large store"};
  int runs = 10000, points = 100000, repeats = 20;
  app.add_option("--runs", runs, "Runs in the store");
  app.add_option("--points", points, "Points of the long metric");
  app.add_option("--repeats", repeats, "Requests per figure");
  CLI11_PARSE(app, argc, argv);

  const auto dir = std::filesystem::temp_directory_path() / ("bench-ui-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "store.db").string();
  std::string long_run;
  const auto filled = Clock::now();
  {
    fabric::store::RunStore store(path);
    store.db().exec("PRAGMA synchronous = OFF");  // filling only: the figures read
    for (int i = 0; i < runs; ++i) {
      fabric::store::NewRun run;
      run.name = "run" + std::to_string(i);
      run.runs_root = (dir / "runs").string();
      run.params = {{"optimizer.lr", std::to_string(1e-4 * (i % 100 + 1))},
                    {"model.kind", i % 2 ? "mlp" : "cnn"}};
      const std::string id = store.create_run(run);
      std::vector<fabric::store::MetricPoint> m;
      for (int step = 0; step < 10; ++step) {
        m.push_back({"train/loss", step, 0, 1.0 / (step + 1 + i % 7), 0});
        m.push_back({"val/accuracy", step, 0, 0.5 + 0.04 * step + 1e-5 * i, 0});
      }
      store.log_metrics(id, m);
      store.finish_run(id, fabric::store::Status::Finished, 0);
      if (i == 0) long_run = id;
    }
    std::vector<fabric::store::MetricPoint> m;
    for (int step = 0; step < points; ++step) m.push_back({"long/loss", step, 0, 1.0 / (step + 1), 0});
    store.log_metrics(long_run, m);
  }
  std::printf("store: %d runs, one with a %d-point metric, filled in %.1f s (%s)\n", runs, points,
              ms_since(filled) / 1000, path.c_str());
  const long rss_before = peak_rss_mb();

  fabric::ui::UiServer server({path, "127.0.0.1", 0, "", {}});
  server.bind();
  std::thread serving([&] { server.serve(); });
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(60, 0);
  auto measure = [&](const char* what, const std::string& url) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < repeats; ++i) {
      const auto t = Clock::now();
      auto r = client.Get(url);
      ms.push_back(ms_since(t));
      if (!r || r->status != 200) {
        std::printf("%s: failed (%d)\n", what, r ? r->status : -1);
        return;
      }
      bytes = r->body.size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-44s median %7.1f ms  worst %7.1f ms  %8zu bytes\n", what, ms[ms.size() / 2],
                ms.back(), bytes);
  };
  measure("runs page (50 newest, total count)", "/api/runs");
  measure("runs, filtered and sorted on a metric",
          "/api/runs?where=" + httplib::detail::encode_query_param("metrics.val/accuracy.max > 0.85 and params.optimizer.lr > 0.005") +
              "&order_by=" + httplib::detail::encode_query_param("metrics.train/loss.min"));
  measure("runs, page 100 (offset 4950)", "/api/runs?offset=4950");
  measure("one run", "/api/runs/" + long_run);
  const std::string long_series = std::to_string(points) + "-point series, LTTB to 2,000";
  measure(long_series.c_str(),
          "/api/runs/" + long_run + "/series?keys=long/loss&max_points=2000");
  measure("every series of the run (2,000 each)", "/api/runs/" + long_run + "/series");
  std::printf("peak RSS: %ld MB after filling, %ld MB after serving\n", rss_before, peak_rss_mb());
  server.stop();
  serving.join();

  fabric::store::RunStore store(path);
  auto downsample = [&](const char* how, auto&& run) {
    reset_peak_rss();
    const double before = status_mb("VmRSS");
    const auto t = Clock::now();
    const size_t kept = run();
    std::printf("%-44s %7.1f ms  %5zu points  peak RSS +%.1f MB\n", how, ms_since(t), kept,
                status_mb("VmHWM") - before);
  };
  downsample("long metric streamed through LttbStream", [&] {
    fabric::ui::LttbStream stream(size_t(store.finite_point_count(long_run, "long/loss")), 2000);
    store.for_each_point(long_run, "long/loss",
                         [&](int64_t step, double value) { stream.push({double(step), value}); });
    return stream.finish().size();
  });
  downsample("long metric read whole, then LTTB to 2,000", [&] {
    std::vector<fabric::ui::Point> curve;
    for (const auto& p : store.metrics(long_run, {"long/loss"}))
      curve.push_back({double(p.step), p.value});
    return fabric::ui::lttb(curve, 2000).size();
  });
  std::filesystem::remove_all(dir);
}
