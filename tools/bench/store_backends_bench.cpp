// The run store's two backends side by side on one workload: a SQLite file on local disk against
// a PostgreSQL database (tools/bench/store_backends starts a throwaway server on a Unix socket
// and passes its URL).
//
//   build/tools/bench/bench-store-backends --postgres URL [--runs 10000] [--points 20000]
//                                          [--long-run 200000]
//
// Figures:
//   - metric writes per second, 1 and 16 writer threads (each its own connection and run,
//     batches of 50 points per transaction as MetricWriter flushes them), and 1 writer again
//     once its run has --long-run points (200,000);
//   - `runs --where ... --order-by ...` latency (select_runs, median of 20) over --runs runs with
//     50 metric keys each;
//   - the time to claim the next TPE trial (claim_trial: lock, read every trial, propose, insert)
//     after 1,000 finished trials, median of 20 claims.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "exp/recipe/search_space.hpp"
#include "store/run_query.hpp"
#include "store/run_store.hpp"
#include "sweep/sampler.hpp"
#include "sweep/sweep_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace fabric;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

store::NewRun bench_run(const std::string& root, double lr) {
  store::NewRun r;
  r.name = "bench";
  r.experiment = "bench";
  r.runs_root = root;
  r.params = {{"optimizer.lr", std::to_string(lr)}, {"optimizer.kind", lr < 1e-3 ? "sgd" : "adamw"}};
  return r;
}

/// train/loss at steps [from, to), in batches of 50 points per transaction, as MetricWriter
/// flushes them.
void log_steps(store::RunStore& s, const std::string& id, int from, int to) {
  std::vector<store::MetricPoint> batch;
  for (int p = from; p < to; ++p) {
    batch.push_back({"train/loss", p, 0, 1.0 / (p + 1), 0.0});
    if (batch.size() == 50 || p + 1 == to) {
      s.log_metrics(id, batch);
      batch.clear();
    }
  }
}

/// Points per second written by `writers` threads, `points` each, in batches of 50.
double write_rate(const std::string& location, const std::string& root, int writers, int points) {
  std::vector<std::thread> threads;
  const auto t = Clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      store::RunStore s(location);
      const auto id = s.create_run(bench_run(root, 1e-3 * (w + 1)));
      log_steps(s, id, 0, points);
      s.finish_run(id, store::Status::Finished, 0);
    });
  }
  for (auto& th : threads) th.join();
  return double(writers) * points / since(t);
}

/// One writer's points per second over `points` points of a run that already has `already`, in
/// batches of 50: a flush must not cost more as the run grows.
double late_write_rate(const std::string& location, const std::string& root, int already,
                       int points) {
  store::RunStore s(location);
  const auto id = s.create_run(bench_run(root, 1e-3));
  log_steps(s, id, 0, already);
  const auto t = Clock::now();
  log_steps(s, id, already, already + points);
  const double rate = points / since(t);
  s.finish_run(id, store::Status::Finished, 0);
  return rate;
}

/// select_runs over a store filled with `runs` runs of 50 metric keys; median seconds.
double query_latency(const std::string& location, const std::string& root, int runs) {
  store::RunStore s(location);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int r = 0; r < runs; ++r) {
    const auto id = s.create_run(bench_run(root, std::pow(10.0, -5 + 4 * u(rng))));
    std::vector<store::MetricPoint> points;
    for (int k = 0; k < 50; ++k) points.push_back({"m" + std::to_string(k), 0, 0, u(rng), 0.0});
    s.log_metrics(id, points);
    s.finish_run(id, store::Status::Finished, 0);
  }
  std::vector<double> times;
  size_t rows = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t = Clock::now();
    auto result = store::select_runs(
        s, {"metrics.m7 > 0.5 and params.optimizer.lr < 1e-3 and status = 'finished'",
            "metrics.m3.min desc", {}, 50});
    times.push_back(since(t));
    rows = result.rows.size();
  }
  std::printf("    (%zu rows shown)\n", rows);
  return median(times);
}

/// claim_trial's time with a TPE sampler after `finished` finished trials; median seconds.
double claim_time(const std::string& location, const std::string& root, int finished) {
  store::RunStore runs(location);
  sweep::SweepStore sweeps(runs);
  exp::SearchSpace space{*exp::parse_sweep_argument("optimizer.lr=tag(log,interval(1e-5,1e-1))"),
                         *exp::parse_sweep_argument("model.width=int(interval(16,512))")};
  sweep::SweepRecord rec;
  rec.name = "claims";
  rec.experiment = "bench";
  rec.method = "tpe";
  rec.spec = "method = \"tpe\"";
  rec.max_trials = finished + 1000;
  const auto id = sweeps.create(rec, root);
  auto sampler = sweep::make_sampler(space, {"tpe", 1, true, 10, 24});
  auto propose = [&](int64_t number, const std::vector<sweep::TrialRecord>& trials) {
    return sweep::point_toml(space,
                             sampler->propose(number, sweep::observations(space, trials, false)));
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < finished; ++i) {
    auto claim = sweeps.claim_trial(id, propose);
    sweeps.end_trial(id, claim->number, store::Status::Finished, u(rng));
  }
  std::vector<double> times;
  for (int i = 0; i < 20; ++i) {
    const auto t = Clock::now();
    auto claim = sweeps.claim_trial(id, propose);
    times.push_back(since(t));
    sweeps.end_trial(id, claim->number, store::Status::Finished, u(rng));
  }
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The run store's SQLite and PostgreSQL backends on one workload"};
  std::string postgres;
  int runs = 10000, points = 20000, long_run = 200000;
  app.add_option("--postgres", postgres, "postgresql:// URL of an empty database")->required();
  app.add_option("--runs", runs, "Runs in the store the query reads");
  app.add_option("--points", points, "Metric points per writer");
  app.add_option("--long-run", long_run,
                 "Points a run already has when its write rate is measured again");
  CLI11_PARSE(app, argc, argv);

  const auto dir =
      std::filesystem::temp_directory_path() / ("bench-backends-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string root = (dir / "runs").string();
  struct Row {
    const char* what;
    double sqlite, postgres;
    const char* unit;
  };
  std::vector<Row> rows;
  auto both = [&](const char* what, const char* unit, double scale,
                  const std::function<double(const std::string&)>& measure) {
    std::printf("%s...\n", what);
    std::fflush(stdout);
    const double a = measure((dir / ("s" + std::to_string(rows.size()) + ".db")).string());
    const double b = measure(postgres);
    rows.push_back({what, a * scale, b * scale, unit});
  };
  both("metric writes, 1 writer", "points/s", 1,
       [&](const std::string& s) { return write_rate(s, root, 1, points); });
  const std::string late = "metric writes, 1 writer, past " + std::to_string(long_run);
  both(late.c_str(), "points/s", 1,
       [&](const std::string& s) { return late_write_rate(s, root, long_run, points); });
  both("metric writes, 16 writers", "points/s", 1,
       [&](const std::string& s) { return write_rate(s, root, 16, points / 4); });
  both("runs --where over the runs", "ms", 1e3,
       [&](const std::string& s) { return query_latency(s, root, runs); });
  both("claim the next tpe trial after 1,000", "ms", 1e3,
       [&](const std::string& s) { return claim_time(s, root, 1000); });
  std::printf("\n%-40s %14s %14s\n", "", "SQLite", "PostgreSQL");
  for (const auto& r : rows)
    std::printf("%-40s %11.1f %-2s %11.1f %s\n", r.what, r.sqlite, "", r.postgres, r.unit);
  std::filesystem::remove_all(dir);
  return 0;
}
