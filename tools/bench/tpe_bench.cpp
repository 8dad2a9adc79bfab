// fabric-exp's samplers on synthetic objectives, in the shape tools/bench/tpe_vs_optuna.py runs
// Optuna's on: the same functions, search spaces, seeds, trial budgets and simulated workers.
//
//   build/tools/bench/bench-tpe [--seeds 20] [--trials 40] [--startup 10] [--workers 1]
//
// Prints one line per study: "function sampler workers seed best". With --workers W > 1, W trials
// run at once on a simulated clock: trial n of seed s takes 1 + ((s * 1000003 + n * 7919) % 1000)
// / 1000 time units (the Python side uses the same formula), a new trial is asked whenever a
// worker is free, and the sampler sees the trials still running as running.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "exp/recipe/search_space.hpp"
#include "sweep/sampler.hpp"

namespace {

using namespace fabric;
using exp::Dimension;

Dimension uniform(const std::string& name, double low, double high, bool log = false) {
  Dimension d;
  d.path = name;
  d.kind = Dimension::Kind::Uniform;
  d.low = low;
  d.high = high;
  d.log = log;
  return d;
}

Dimension integer(const std::string& name, int64_t low, int64_t high) {
  Dimension d = uniform(name, double(low), double(high));
  d.kind = Dimension::Kind::IntUniform;
  return d;
}

Dimension choice(const std::string& name, const std::vector<std::string>& values) {
  Dimension d;
  d.path = name;
  for (const auto& v : values) d.values.push_back("\"" + v + "\"");
  return d;
}

struct Objective {
  std::string name;
  exp::SearchSpace space;
  std::function<double(const std::vector<double>&)> f;  // choices come as their index
};

std::vector<Objective> objectives() {
  std::vector<Objective> out;
  out.push_back({"branin",
                 {uniform("x1", -5, 10), uniform("x2", 0, 15)},
                 [](const std::vector<double>& x) {
                   const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
                   const double y = x[1] - b * x[0] * x[0] + c * x[0] - 6;
                   return y * y + 10 * (1 - t) * std::cos(x[0]) + 10;
                 }});
  exp::SearchSpace unit6;
  for (int i = 0; i < 6; ++i) unit6.push_back(uniform("x" + std::to_string(i), 0, 1));
  out.push_back({"hartmann6", unit6, [](const std::vector<double>& x) {
                   static const double a[4] = {1.0, 1.2, 3.0, 3.2};
                   static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                                  {0.05, 10, 17, 0.1, 8, 14},
                                                  {3, 3.5, 1.7, 10, 17, 8},
                                                  {17, 8, 0.05, 10, 0.1, 14}};
                   static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                                  {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                                  {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                                  {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
                   double sum = 0;
                   for (int i = 0; i < 4; ++i) {
                     double e = 0;
                     for (int j = 0; j < 6; ++j) e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
                     sum += a[i] * std::exp(-e);
                   }
                   return -sum;
                 }});
  // A long thin valley along x1 = x2: good values of one parameter depend on the other.
  out.push_back({"ridge",
                 {uniform("x1", -2, 2), uniform("x2", -2, 2)},
                 [](const std::vector<double>& x) {
                   const double d = x[0] - x[1], s = x[0] + x[1] - 1;
                   return 50 * d * d + s * s;
                 }});
  // A stand-in for the quickstart's space: log lr and weight decay (coupled), an integer width
  // and an activation.
  out.push_back({"training-like",
                 {uniform("lr", 1e-5, 1e-1, true), uniform("weight_decay", 1e-6, 1e-2, true),
                  integer("width", 16, 256), choice("act", {"relu", "gelu", "tanh", "sigmoid"})},
                 [](const std::vector<double>& x) {
                   static const double act[4] = {0, 0.1, 0.4, 1.0};
                   const double u = std::log10(x[0]) + 2.5, v = std::log10(x[1]) + 4;
                   const double w = std::log2(x[2] / 96);
                   return u * u + 0.5 * (v - 0.5 * u) * (v - 0.5 * u) + 0.2 * w * w + act[int(x[3])];
                 }});
  return out;
}

std::vector<double> decode(const exp::SearchSpace& space, const sweep::Point& p) {
  std::vector<double> x;
  for (size_t i = 0; i < space.size(); ++i) {
    if (space[i].kind == Dimension::Kind::Choice) {
      for (size_t k = 0; k < space[i].values.size(); ++k)
        if (space[i].values[k] == p[i]) x.push_back(double(k));
    } else {
      x.push_back(std::stod(p[i]));
    }
  }
  return x;
}

double duration(uint64_t seed, int64_t number) {
  return 1 + double((seed * 1000003 + uint64_t(number) * 7919) % 1000) / 1000;
}

/// One study: `trials` proposals, `workers` at once; the best value seen.
double study(const Objective& o, sweep::SamplerConfig config, int64_t trials, int64_t workers) {
  auto sampler = sweep::make_sampler(o.space, config);
  std::vector<sweep::Observation> history;
  std::vector<double> ends;  // per trial: when it ends (simulated)
  double now = 0, best = INFINITY;
  int64_t running = 0;
  for (int64_t n = 0; n < trials || running > 0;) {
    if (n < trials && running < workers) {
      sweep::Point p = sampler->propose(n, history);
      history.push_back({p, o.f(decode(o.space, p)), false, true});
      ends.push_back(now + duration(config.seed, n));
      ++running;
      ++n;
      continue;
    }
    // The next trial to end reports its value.
    size_t next = 0;
    double soonest = INFINITY;
    for (size_t i = 0; i < history.size(); ++i)
      if (history[i].running && ends[i] < soonest) soonest = ends[next = i];
    now = soonest;
    history[next].running = false;
    best = std::min(best, history[next].value);
    --running;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fabric-exp's samplers on synthetic objectives"};
  int64_t seeds = 20, trials = 40, startup = 10, workers = 1;
  app.add_option("--seeds", seeds, "Studies per function and sampler")->check(CLI::PositiveNumber);
  app.add_option("--trials", trials, "Trials per study")->check(CLI::PositiveNumber);
  app.add_option("--startup", startup, "TPE's random trials first")->check(CLI::PositiveNumber);
  app.add_option("--workers", workers, "Trials at once")->check(CLI::PositiveNumber);
  std::string history_file, function = "hartmann6";
  int64_t draws = 0;
  bool multivariate = false;
  app.add_option("--history", history_file,
                 "Check the estimator alone: read ended trials (the values of one point, then "
                 "its objective, a line each) and print --draws proposals, one per trial number");
  app.add_option("--draws", draws, "Proposals to print with --history");
  app.add_option("--function", function, "The space of --history: a function's name");
  app.add_flag("--multivariate", multivariate, "With --history: multivariate TPE");
  CLI11_PARSE(app, argc, argv);
  if (!history_file.empty()) {
    const auto all = objectives();
    const auto o = std::find_if(all.begin(), all.end(),
                                [&](const Objective& x) { return x.name == function; });
    if (o == all.end()) {
      std::fprintf(stderr, "bench-tpe: no function '%s'\n", function.c_str());
      return 2;
    }
    std::ifstream in(history_file);
    if (!in) {
      std::fprintf(stderr, "bench-tpe: cannot read %s\n", history_file.c_str());
      return 2;
    }
    std::vector<sweep::Observation> history;
    int line_number = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      std::istringstream fields(line);
      sweep::Point p(o->space.size());
      for (auto& v : p) fields >> v;
      double value = 0;
      if (!(fields >> value)) {
        std::fprintf(stderr, "bench-tpe: %s:%d: want %zu values and an objective\n",
                     history_file.c_str(), line_number, o->space.size());
        return 2;
      }
      history.push_back({p, value, false, false});
    }
    {
      sweep::SamplerConfig c;
      c.method = "tpe";
      c.startup_trials = startup;
      c.multivariate = multivariate;
      auto sampler = sweep::make_sampler(o->space, c);
      for (int64_t n = 0; n < draws; ++n) {
        const auto p = sampler->propose(1000 + n, history);
        for (const auto& v : p) std::printf("%s ", v.c_str());
        std::printf("\n");
      }
    }
    return 0;
  }

  struct Variant {
    std::string name, method;
    bool multivariate, liar;
  };
  // A constant liar changes nothing when no trial runs while another is proposed.
  const std::vector<Variant> variants =
      workers == 1 ? std::vector<Variant>{{"random", "random", false, false},
                                          {"tpe", "tpe", false, false},
                                          {"tpe-mv", "tpe", true, false}}
                   : std::vector<Variant>{{"random", "random", false, false},
                                          {"tpe", "tpe", false, false},
                                          {"tpe+liar", "tpe", false, true},
                                          {"tpe-mv+liar", "tpe", true, true}};
  for (const auto& o : objectives()) {
    for (const auto& v : variants) {
      for (int64_t s = 0; s < seeds; ++s) {
        sweep::SamplerConfig c;
        c.method = v.method;
        c.seed = uint64_t(s);
        c.startup_trials = startup;
        c.multivariate = v.multivariate;
        c.constant_liar = v.liar;
        std::printf("%s %s %lld %lld %.10g\n", o.name.c_str(), v.name.c_str(),
                    (long long)workers, (long long)s, study(o, c, trials, workers));
      }
    }
  }
  return 0;
}
