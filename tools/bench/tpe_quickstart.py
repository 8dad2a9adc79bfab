#!/usr/bin/env python3
"""TPE on real training runs: recipes/quickstart.toml's best validation loss over lr, weight decay
and width, fabric-exp's sweeps against Optuna (Debian's python3-optuna) asking for the same runs.

    tools/bench/tpe_quickstart.py [--build build] [--seeds 4] [--trials 20] [--startup 5]
                                  [--only tpe,multivariate,optuna,pruned-serial,...]

Per seed, in one store (a SQLite file in a temporary folder):
  - fabric-exp tpe, serial;  fabric-exp multivariate tpe, serial;
  - Optuna's TPESampler (same seed, startup and budget): each ask is a `fabric-exp run` of the same
    recipe with the proposed values, told the run's min val/loss;
  - fabric-exp tpe with the median pruner, serial and with 3 trials at once (constant liar);
  - pruned-workers: the same, run by 3 `fabric-exp sweep work` processes on a PostgreSQL store
    (a throwaway server this script starts: Debian's postgresql package), as a SLURM array would.
Training is seeded by the recipe (run.seed = 42), so equal values give equal losses on both sides.
Prints the mean best value per configuration and each seed's.
"""
import argparse
import glob
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_python import reexec_with  # noqa: E402

reexec_with(['optuna'])  # under the build's Python when this one lacks them
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RECIPE = os.path.join(ROOT, "recipes", "quickstart.toml")
WIDTHS = ["[32, 32]", "[64, 64]", "[128, 128]", "[256, 256]"]
SPACE = ["optimizer.lr=tag(log,interval(1e-4,1e-1))",
         "optimizer.weight_decay=tag(log,interval(1e-6,1e-1))",
         "model.hidden=" + ",".join(w.replace(" ", "") for w in WIDTHS)]


def sweep_command(binary, store, seed, args):
    return [binary, "sweep", RECIPE, "--store", store, "sweep.method=tpe",
            "sweep.objective=val/loss", "sweep.direction=minimize", "sweep.summary=min",
            "sweep.max_trials=%d" % args.trials, "sweep.startup_trials=%d" % args.startup,
            "sweep.seed=%d" % seed] + SPACE


def checked(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("tpe_quickstart: %s\n%s%s" % (" ".join(cmd), out.stdout, out.stderr))
    return out.stdout


def query(store, sql):
    """The first row of `sql` on a SQLite file or a postgresql:// URL (through psql)."""
    if store.startswith("postgresql://"):
        return checked(["psql", store, "-XAt", "-F", "\t", "-c", sql]).strip().split("\t")
    return sqlite3.connect(store).execute(sql).fetchone()


def newest_sweep_result(store):
    sweep_id = query(store, "SELECT id FROM sweeps ORDER BY created_at DESC LIMIT 1")[0]
    best, pruned = query(
        store, "SELECT min(CASE WHEN status = 'finished' THEN value END), "
        "sum(CASE WHEN status = 'pruned' THEN 1 ELSE 0 END) FROM trials WHERE sweep_id = '%s'"
        % sweep_id)
    return float(best) if best not in (None, "") else float("nan"), int(pruned or 0)


def sweep(binary, store, seed, args, extra):
    checked(sweep_command(binary, store, seed, args) + extra)
    return newest_sweep_result(store)


def sweep_workers(binary, store, seed, args, extra, workers):
    """The sweep created for a SLURM array, then run by `workers` `sweep work` processes."""
    checked(sweep_command(binary, store, seed, args) + extra +
            ["--launcher", "slurm", "--parallel", str(workers)])
    sweep_id = query(store, "SELECT id FROM sweeps ORDER BY created_at DESC LIMIT 1")[0]
    procs = [subprocess.Popen([binary, "sweep", "work", sweep_id, "--store", store],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(workers)]
    for p in procs:
        output, _ = p.communicate()
        if p.returncode != 0:
            sys.exit("tpe_quickstart: sweep work %s failed:\n%s" % (sweep_id, output))
    return newest_sweep_result(store)


class Postgres:
    """A throwaway server (Debian's initdb and pg_ctl), on a Unix socket in a temporary folder;
    as the postgres user when we are root, since PostgreSQL refuses to run as root."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda b: int(b.split("/")[-2]))
        if not bins:
            sys.exit("tpe_quickstart: pruned-workers needs a PostgreSQL server: "
                     "apt-get install postgresql")
        self.bin = bins[-1]
        self.dir = tempfile.mkdtemp(prefix="bench-pg.")
        self.as_user = []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        checked(self.as_user + [self.bin + "/initdb", "-D", self.dir + "/data", "-U", "postgres",
                                "--auth=trust", "-E", "UTF8"])
        checked(self.as_user + [self.bin + "/pg_ctl", "-D", self.dir + "/data", "-l",
                                self.dir + "/log", "-o", "-k %s -c listen_addresses=''" % self.dir,
                                "-w", "start"])

    def database(self, name):
        checked(["psql", "-XAt", "-h", self.dir, "-U", "postgres", "-d", "postgres", "-c",
                 "CREATE DATABASE " + name])
        return "postgresql://postgres@/%s?host=%s" % (name, self.dir)

    def stop(self):
        subprocess.run(self.as_user + [self.bin + "/pg_ctl", "-D", self.dir + "/data", "-m",
                                       "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


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
    ap.add_argument("--only", default="",
                    help="comma-separated subset of: tpe, multivariate, optuna, pruned-serial, "
                    "pruned-parallel (default: all)")
    args = ap.parse_args()
    try:
        import optuna
    except ImportError:
        sys.exit("tpe_quickstart: Optuna is missing (tools/torch_venv installs it)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    binary = os.path.join(args.build, "src", "fabric-exp")
    if not os.access(binary, os.X_OK):
        sys.exit("tpe_quickstart: %s is missing: ninja -C %s" % (binary, args.build))

    pruner = ["sweep.pruner=median", "sweep.pruner_startup_trials=3"]
    table = {  # short name: (label, extra arguments to `fabric-exp sweep`; None: Optuna)
        "tpe": ("fabric-exp tpe", ["sweep.multivariate=false"]),
        "multivariate": ("fabric-exp tpe multivariate", ["sweep.multivariate=true"]),
        "optuna": ("optuna tpe", None),
        "pruned-serial": ("fabric-exp tpe + median pruner, serial", pruner),
        "pruned-parallel": ("fabric-exp tpe + median pruner, 3 at once",
                            pruner + ["--parallel", "3"]),
        "pruned-workers": ("fabric-exp tpe + median pruner, 3 sweep work (PostgreSQL)", pruner),
    }
    chosen = args.only.split(",") if args.only else list(table)
    for c in chosen:
        if c not in table:
            sys.exit("tpe_quickstart: --only: unknown configuration '%s' (known: %s)" % (
                c, ", ".join(table)))
    configs = [table[c][0] for c in chosen]
    best = {c: [] for c in configs}
    pruned = {c: 0 for c in configs}
    server = Postgres() if "pruned-workers" in chosen else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)  # runs/ and the sweeps' folders go here
            store = os.path.join(tmp, "store.db")
            for seed in range(args.seeds):
                for c in chosen:
                    name, extra = table[c]
                    if extra is None:
                        best[name].append(optuna_study(optuna, binary, store, seed, args))
                        continue
                    if c == "pruned-workers":
                        value, n_pruned = sweep_workers(binary, server.database("seed%d" % seed),
                                                        seed, args, extra, 3)
                    else:
                        value, n_pruned = sweep(binary, store, seed, args, extra)
                    best[name].append(value)
                    pruned[name] += n_pruned or 0
                print("seed %d: %s" % (seed, ", ".join("%s %.4f" % (c, best[c][-1]) for c in configs)),
                      flush=True)
    finally:
        if server:
            server.stop()
    print("\nquickstart, min val/loss: %d seeds, %d trials, %d random first (Optuna %s)" % (
        args.seeds, args.trials, args.startup, optuna.__version__))
    for c in configs:
        print("%-58s mean best %.4f  (%s)%s" % (
            c, statistics.mean(best[c]), " ".join("%.4f" % v for v in best[c]),
            "  %d trials pruned" % pruned[c] if "pruner" in c else ""))


if __name__ == "__main__":
    main()
