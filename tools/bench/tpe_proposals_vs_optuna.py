#!/usr/bin/env python3
"""Are fabric-exp's TPE proposals distributed as Optuna's, given the same history?

    tools/bench/tpe_proposals_vs_optuna.py [--build build] [--draws 400] [--multivariate]

Draws 30 random points of hartmann6 (seed 1) as ended trials, then asks fabric-exp
(bench-tpe --history) and Optuna (a fresh study per draw, seeds 0..draws-1, the history added with
add_trial) for `draws` proposals each, and prints per dimension the mean and standard deviation of
each side's proposals, and their mean distance to the best trial. Run it with the Python whose
Optuna is the reference (Debian's 3.1, or the torch venv's: tools/torch_venv).
"""
import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_python import reexec_with  # noqa: E402

reexec_with(["optuna"])  # under the build's Python when this one lacks it
import tpe_vs_optuna  # noqa: E402  (the objectives)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                    "build"))
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--multivariate", action="store_true")
    args = ap.parse_args()
    try:
        import optuna
    except ImportError:
        sys.exit("tpe_proposals_vs_optuna: Optuna is missing (tools/torch_venv installs it)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    names = ["x%d" % j for j in range(6)]
    rnd = random.Random(1)
    history = []
    for _ in range(30):
        x = {n: rnd.random() for n in names}
        history.append((x, tpe_vs_optuna.hartmann6(x)))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for x, v in history:
            f.write(" ".join(repr(x[n]) for n in names) + " %r\n" % v)
    try:
        cmd = [os.path.join(args.build, "tools", "bench", "bench-tpe"), "--history", f.name,
               "--draws", str(args.draws), "--function", "hartmann6"]
        out = subprocess.run(cmd + (["--multivariate"] if args.multivariate else []),
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    ours = [[float(t) for t in line.split()] for line in out.strip().split("\n")]
    space = {n: optuna.distributions.FloatDistribution(0, 1) for n in names}
    theirs = []
    for seed in range(args.draws):
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=args.multivariate,
                                             constant_liar=False)
        study = optuna.create_study(sampler=sampler)
        for x, v in history:
            study.add_trial(optuna.trial.create_trial(params=x, distributions=space, value=v))
        trial = study.ask(space)
        theirs.append([trial.params[n] for n in names])
    best = min(history, key=lambda h: h[1])[0]
    best_point = [best[n] for n in names]
    print("hartmann6, 30 ended trials, %d proposals each, %s TPE; fabric-exp | Optuna %s" % (
        args.draws, "multivariate" if args.multivariate else "univariate", optuna.__version__))
    for j, n in enumerate(names):
        print("%s  mean %.3f sd %.3f | mean %.3f sd %.3f" % (
            n, statistics.mean(p[j] for p in ours), statistics.stdev(p[j] for p in ours),
            statistics.mean(p[j] for p in theirs), statistics.stdev(p[j] for p in theirs)))
    print("distance to the best trial: %.3f | %.3f" % (
        statistics.mean(math.dist(p, best_point) for p in ours),
        statistics.mean(math.dist(p, best_point) for p in theirs)))


if __name__ == "__main__":
    main()
