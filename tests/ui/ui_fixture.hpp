// The store and server the ui suites share: a fixture store with runs, artifacts and a sweep,
// and the real server on a free loopback port in a thread of the test process.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "store/run_store.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "sweep/sweep_store.hpp"
#include "ui/server.hpp"

namespace ui_test {

namespace fs = std::filesystem;
using test_support::TempDir;

inline bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

inline int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// A store with a finished run (curves, artifacts, a hostile name and note), a running one, and
/// a sweep of three trials (one pruned, one failed).
struct Fixture {
  TempDir dir;
  std::string store_path;  // a SQLite file in `dir`, or a fresh PostgreSQL database's URL
  std::string finished, running, sweep_id;
  std::string checkpoint;

  explicit Fixture(const std::string& backend = "sqlite")
      : store_path(test_support::fresh_store(backend, dir)) {
    fabric::store::RunStore s(store_path);
    fabric::store::NewRun nr;
    nr.name = "<img src=x onerror=\"alert('x')\">";
    nr.note = "a note with 'quotes' & <b>tags</b>";
    nr.recipe_text = "[model]\nkind = \"mlp\"\n";
    nr.resolved = "[model]\nkind = \"mlp\"\nhidden = [64]\n";
    nr.params = {{"model.kind", "mlp"}, {"optimizer.lr", "0.01"}};
    nr.runs_root = dir.str("runs");
    finished = s.create_run(nr);
    std::vector<fabric::store::MetricPoint> points;
    for (int64_t step = 0; step < 100000; ++step)
      points.push_back({"train/loss", step, step / 1000, 1.0 / double(step + 1), 0});
    points.push_back({"val/loss", 10, 0, std::numeric_limits<double>::infinity(), 0});
    points.push_back({"val/loss", 20, 0, 0.5, 0});
    for (int64_t step = 0; step < 100000; step += 5000)
      points.push_back({"sys/rss_mib", step, step / 1000, 300.0 + double(step) / 1000.0, 0});
    s.log_metrics(finished, points);
    s.set_tag(finished, "team", "<vision>");
    const std::string run_dir = s.get(finished)->run_dir;
    fs::create_directories(run_dir + "/checkpoints");
    checkpoint = run_dir + "/checkpoints/last.ckpt";
    std::ofstream(checkpoint) << "checkpoint bytes";
    s.add_artifact(finished, checkpoint, "checkpoint");
    std::ofstream(run_dir + "/train.log") << "line one\nline two\nline three\n";
    s.finish_run(finished, fabric::store::Status::Finished, 0);

    nr.name = "live";
    nr.note = "";
    nr.params = {{"model.kind", "mlp"}, {"optimizer.lr", "0.02"}};
    running = s.create_run(nr);
    s.log_metrics(running, {{"train/loss", 1, 0, 0.9, 0}});

    fabric::sweep::SweepStore sweeps(s);
    fabric::sweep::SweepRecord w;
    w.name = "lr-sweep";
    w.method = "grid";
    w.objective = "val/loss";
    w.direction = "minimize";
    w.summary = "min";
    w.max_trials = 3;
    w.spec =
        "method = \"grid\"\nobjective = \"val/loss\"\ndirection = \"minimize\"\n"
        "[parameters]\n\"optimizer.lr\" = [0.01, 0.02, 0.03, 0.5]\n";
    sweep_id = sweeps.create(w, dir.str("runs"));
    const std::vector<std::pair<double, fabric::store::Status>> trials{
        {0.4, fabric::store::Status::Finished},
        {0.2, fabric::store::Status::Finished},
        {0.9, fabric::store::Status::Pruned}};
    for (int64_t n = 0; n < 3; ++n) {
      sweeps.start_trial(sweep_id, n, "\"optimizer.lr\" = 0.0" + std::to_string(n + 1));
      sweeps.attach_run(sweep_id, n, n == 0 ? finished : running);
      sweeps.end_trial(sweep_id, n, trials[size_t(n)].second, trials[size_t(n)].first);
    }
    sweeps.start_trial(sweep_id, 3, "\"optimizer.lr\" = 0.5");
    sweeps.end_trial(sweep_id, 3, fabric::store::Status::Failed, std::nullopt,
                     "diverged: loss is nan");
  }
};

/// The server on a free loopback port, in a thread of this process.
struct Served {
  fabric::ui::UiServer server;
  std::thread thread;
  explicit Served(fabric::ui::UiOptions options) : server(std::move(options)) {
    server.bind();
    thread = std::thread([this] { server.serve(); });
  }
  ~Served() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(10, 0);
    return c;
  }
};

}  // namespace ui_test
