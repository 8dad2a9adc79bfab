#!/usr/bin/env python3
"""fabric-exp's TPE against Optuna's (Debian's python3-optuna) on the same objectives.

    tools/bench/tpe_vs_optuna.py [--build build] [--seeds 20] [--trials 40] [--startup 10]

Runs build/tools/bench/bench-tpe (fabric-exp's samplers) and Optuna's samplers on the same
synthetic functions, search spaces, seeds and budgets, serially and with 4 simulated workers
(trial n of seed s takes 1 + ((s * 1000003 + n * 7919) % 1000) / 1000 time units; a worker asks
for a trial as soon as it is free, so the sampler sees the others still running), and prints the
mean best value per function, sampler and worker count side by side, with the standard error of
the mean and how often fabric-exp's beats Optuna's same sampler (same seed index, lower is
better).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_python import reexec_with  # noqa: E402

reexec_with(['optuna'])  # under the build's Python when this one lacks them
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def branin(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    y = x["x2"] - b * x["x1"] ** 2 + c * x["x1"] - 6
    return y * y + 10 * (1 - t) * math.cos(x["x1"]) + 10


HARTMANN_A = [1.0, 1.2, 3.0, 3.2]
HARTMANN_M = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
              [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
              [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
              [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    v = [x["x%d" % j] for j in range(6)]
    return -sum(HARTMANN_A[i] * math.exp(-sum(HARTMANN_M[i][j] * (v[j] - HARTMANN_P[i][j]) ** 2
                                               for j in range(6))) for i in range(4))


def ridge(x):
    d, s = x["x1"] - x["x2"], x["x1"] + x["x2"] - 1
    return 50 * d * d + s * s


ACT = {"relu": 0, "gelu": 0.1, "tanh": 0.4, "sigmoid": 1.0}


def training_like(x):
    u, v = math.log10(x["lr"]) + 2.5, math.log10(x["weight_decay"]) + 4
    w = math.log2(x["width"] / 96)
    return u * u + 0.5 * (v - 0.5 * u) ** 2 + 0.2 * w * w + ACT[x["act"]]


# The spaces of tools/bench/tpe_bench.cpp, in Optuna's suggest calls.
def suggest(name, trial):
    if name == "branin":
        return {"x1": trial.suggest_float("x1", -5, 10), "x2": trial.suggest_float("x2", 0, 15)}
    if name == "hartmann6":
        return {"x%d" % j: trial.suggest_float("x%d" % j, 0, 1) for j in range(6)}
    if name == "ridge":
        return {"x1": trial.suggest_float("x1", -2, 2), "x2": trial.suggest_float("x2", -2, 2)}
    return {"lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "width": trial.suggest_int("width", 16, 256),
            "act": trial.suggest_categorical("act", list(ACT))}


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6, "ridge": ridge,
             "training-like": training_like}


def duration(seed, number):
    return 1 + ((seed * 1000003 + number * 7919) % 1000) / 1000


def optuna_study(optuna, name, sampler, trials, workers, seed):
    study = optuna.create_study(sampler=sampler, direction="minimize")
    f = FUNCTIONS[name]
    running = []  # (end, trial, value)
    now, best, asked = 0.0, math.inf, 0
    while asked < trials or running:
        if asked < trials and len(running) < workers:
            t = study.ask()
            running.append((now + duration(seed, asked), t, f(suggest(name, t))))
            asked += 1
            continue
        running.sort(key=lambda r: r[0])
        end, t, value = running.pop(0)
        now = end
        study.tell(t, value)
        best = min(best, value)
    return best


def optuna_samplers(optuna, workers, seed, startup):
    # Every option spelled out: Optuna's defaults change between versions.
    def tpe(multivariate, liar):
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup,
                                          multivariate=multivariate, constant_liar=liar)
    out = {"random": optuna.samplers.RandomSampler(seed=seed), "tpe": tpe(False, False)}
    if workers == 1:
        out["tpe-mv"] = tpe(True, False)
    else:
        out["tpe+liar"] = tpe(False, True)
        out["tpe-mv+liar"] = tpe(True, True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--startup", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--optuna-cache", metavar="FILE",
                    help="Optuna's results: read from FILE when it holds this configuration's, "
                         "else computed and written there (Optuna takes minutes, bench-tpe a "
                         "second)")
    args = ap.parse_args()
    try:
        import optuna
    except ImportError:
        sys.exit("tpe_vs_optuna: Optuna is missing (tools/torch_venv installs it)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")  # multivariate and constant_liar are "experimental"
    bench = os.path.join(args.build, "tools", "bench", "bench-tpe")
    if not os.access(bench, os.X_OK):
        sys.exit("tpe_vs_optuna: %s is missing: ninja -C %s" % (bench, args.build))

    best = {}  # (function, side, sampler, workers) -> [best per seed]
    cache = {}
    if args.optuna_cache and os.path.exists(args.optuna_cache):
        with open(args.optuna_cache) as f:
            cache = json.load(f)
    timing = {}
    for workers in args.workers:
        started = time.time()
        out = subprocess.run([bench, "--seeds", str(args.seeds), "--trials", str(args.trials),
                              "--startup", str(args.startup), "--workers", str(workers)],
                             check=True, capture_output=True, text=True).stdout
        timing[("fabric-exp", workers)] = time.time() - started
        for line in out.split("\n"):
            if line:
                fn, sampler, w, seed, value = line.split()
                best.setdefault((fn, "fabric-exp", sampler, int(w)), []).append(float(value))
        key = "optuna %s seeds %d trials %d startup %d workers %d" % (
            optuna.__version__, args.seeds, args.trials, args.startup, workers)
        if key in cache:
            for name, values in cache[key]["best"].items():
                fn, sampler_name = name.split(" ")
                best[(fn, "optuna", sampler_name, workers)] = values
            timing[("optuna", workers)] = cache[key]["seconds"]
            continue
        started = time.time()
        for fn in FUNCTIONS:
            for seed in range(args.seeds):
                for sampler_name, sampler in optuna_samplers(optuna, workers, seed,
                                                             args.startup).items():
                    value = optuna_study(optuna, fn, sampler, args.trials, workers, seed)
                    best.setdefault((fn, "optuna", sampler_name, workers), []).append(value)
        timing[("optuna", workers)] = time.time() - started
        cache[key] = {"seconds": timing[("optuna", workers)],
                      "best": {"%s %s" % (k[0], k[2]): v for k, v in best.items()
                               if k[1] == "optuna" and k[3] == workers}}
        if args.optuna_cache:
            with open(args.optuna_cache, "w") as f:
                json.dump(cache, f)

    print("TPE: fabric-exp against Optuna %s; %d seeds, %d trials (%d random first); mean best "
          "(lower is better) +- standard error; 'wins' counts seeds where fabric-exp's is lower "
          "than Optuna's" % (optuna.__version__, args.seeds, args.trials,
                                                  args.startup))
    for workers in args.workers:
        print("\n%d worker%s (fabric-exp %.1f s, Optuna %.1f s for all of them)" % (
            workers, "" if workers == 1 else "s at once", timing[("fabric-exp", workers)],
            timing[("optuna", workers)]))
        print("%-14s %-12s %-22s %-22s %s" % ("function", "sampler", "fabric-exp", "optuna",
                                             "fabric-exp wins"))
        for fn in FUNCTIONS:
            for sampler in sorted({k[2] for k in best if k[0] == fn and k[3] == workers},
                                  key=lambda s: (s != "random", len(s), s)):
                cells = []
                for side in ("fabric-exp", "optuna"):
                    v = best.get((fn, side, sampler, workers))
                    cells.append("%9.4f +- %.4f" % (statistics.mean(v),
                                                    statistics.stdev(v) / math.sqrt(len(v)))
                                 if v else "-")
                ours = best[(fn, "fabric-exp", sampler, workers)]
                theirs = best[(fn, "optuna", sampler, workers)]
                wins = sum(a < b for a, b in zip(ours, theirs))
                print("%-14s %-12s %-22s %-22s %d/%d" % (fn, sampler, cells[0], cells[1], wins,
                                                         len(ours)))


if __name__ == "__main__":
    main()
