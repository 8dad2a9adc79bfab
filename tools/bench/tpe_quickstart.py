#!/usr/bin/python3
"""TPE on real training runs: recipes/quickstart.toml's best validation loss over lr, weight decay
and width, fabric-exp's sweeps against Optuna (Debian's python3-optuna) asking for the same runs.

    tools/bench/tpe_quickstart.py [--build build] [--seeds 4] [--trials 20] [--startup 5]

Per seed, in one store (a SQLite file in a temporary folder):
  - fabric-exp tpe, serial;  fabric-exp multivariate tpe, serial;
  - Optuna's TPESampler (same seed, startup and budget): each ask is a `fabric-exp run` of the same
    recipe with the proposed values, told the run's min val/loss;
  - fabric-exp tpe with the median pruner, serial and with 3 trials at once (constant liar).
Training is seeded by the recipe (run.seed = 42), so equal values give equal losses on both sides.
Prints the mean best value per configuration and each seed's.
"""
import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RECIPE = os.path.join(ROOT, "recipes", "quickstart.toml")
WIDTHS = ["[32, 32]", "[64, 64]", "[128, 128]", "[256, 256]"]
SPACE = ["optimizer.lr=tag(log,interval(1e-4,1e-1))",
         "optimizer.weight_decay=tag(log,interval(1e-6,1e-1))",
         "model.hidden=" + ",".join(w.replace(" ", "") for w in WIDTHS)]


def sweep(binary, store, seed, args, extra):
    cmd = [binary, "sweep", RECIPE, "--store", store, "sweep.method=tpe",
           "sweep.objective=val/loss", "sweep.direction=minimize", "sweep.summary=min",
           "sweep.max_trials=%d" % args.trials, "sweep.startup_trials=%d" % args.startup,
           "sweep.seed=%d" % seed] + SPACE + extra
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("tpe_quickstart: %s\n%s%s" % (" ".join(cmd), out.stdout, out.stderr))
    db = sqlite3.connect(store)
    sweep_id, = db.execute("SELECT id FROM sweeps ORDER BY rowid DESC LIMIT 1").fetchone()
    best, pruned = db.execute(
        "SELECT min(CASE WHEN status = 'finished' THEN value END), "
        "sum(status = 'pruned') FROM trials WHERE sweep_id = ?", (sweep_id,)).fetchone()
    return best, pruned


def optuna_study(optuna, binary, store, seed, args):
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=args.startup)
    study = optuna.create_study(sampler=sampler, direction="minimize")
    db = sqlite3.connect(store)

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        wd = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
        hidden = trial.suggest_categorical("hidden", WIDTHS)
        cmd = [binary, "run", RECIPE, "--store", store, "optimizer.lr=%r" % lr,
               "optimizer.weight_decay=%r" % wd, "model.hidden=" + hidden]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("tpe_quickstart: %s\n%s%s" % (" ".join(cmd), out.stdout, out.stderr))
        value, = db.execute(
            "SELECT s.min FROM metric_summary s JOIN runs r ON r.id = s.run_id WHERE "
            "s.key = 'val/loss' ORDER BY r.rowid DESC LIMIT 1").fetchone()
        return value

    study.optimize(objective, n_trials=args.trials)
    return study.best_value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--startup", type=int, default=5)
    args = ap.parse_args()
    try:
        import optuna
    except ImportError:
        sys.exit("tpe_quickstart: Optuna is missing: apt-get install python3-optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    binary = os.path.join(args.build, "src", "fabric-exp")
    if not os.access(binary, os.X_OK):
        sys.exit("tpe_quickstart: %s is missing: ninja -C %s" % (binary, args.build))

    configs = ["fabric-exp tpe", "fabric-exp tpe multivariate", "optuna tpe",
               "fabric-exp tpe + median pruner, serial",
               "fabric-exp tpe + median pruner, 3 at once"]
    best = {c: [] for c in configs}
    pruned = {c: 0 for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # runs/ and the sweeps' folders go here
        store = os.path.join(tmp, "store.db")
        for seed in range(args.seeds):
            runs = [("fabric-exp tpe", ["sweep.multivariate=false"]),
                    ("fabric-exp tpe multivariate", ["sweep.multivariate=true"]),
                    ("fabric-exp tpe + median pruner, serial",
                     ["sweep.pruner=median", "sweep.pruner_startup_trials=3"]),
                    ("fabric-exp tpe + median pruner, 3 at once",
                     ["sweep.pruner=median", "sweep.pruner_startup_trials=3", "--parallel", "3"])]
            for name, extra in runs:
                value, n_pruned = sweep(binary, store, seed, args, extra)
                best[name].append(value)
                pruned[name] += n_pruned or 0
            best["optuna tpe"].append(optuna_study(optuna, binary, store, seed, args))
            print("seed %d: %s" % (seed, ", ".join("%s %.4f" % (c, best[c][-1]) for c in configs)),
                  flush=True)
    print("\nquickstart, min val/loss: %d seeds, %d trials, %d random first (Optuna %s)" % (
        args.seeds, args.trials, args.startup, optuna.__version__))
    for c in configs:
        print("%-44s mean best %.4f  (%s)%s" % (
            c, statistics.mean(best[c]), " ".join("%.4f" % v for v in best[c]),
            "  %d trials pruned" % pruned[c] if "pruner" in c else ""))


if __name__ == "__main__":
    main()
