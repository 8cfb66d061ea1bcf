#!/usr/bin/python3
"""Sampler quality: how many trials the service's TPE needs to reach a target,
side by side with Optuna's TPESampler and with the service's random search.

    bench/sampler.py BUILD_DIR [--quick] [--inproc] [--seeds N] [--functions branin,hartmann6,lambda3]

For each test function and seed s it runs three searches of the same budget:
  ours-tpe     a "search": {"method": "tpe", "seed": s, "external": true} sweep,
               driven through the real service: `sicctl ask` / `sicctl tell`
               against a live sic-coordinator and redis-server (started here,
               as tests/service/cluster.py does; no workers: the search is external);
  ours-random  the same with "method": "random";
  optuna       optuna.samplers.TPESampler(multivariate=True, n_startup_trials=10,
               seed=s), in-process (python3-optuna 3.1, Debian's).
--inproc calls the sampler through BUILD_DIR/bench/bench_sampler_driver (the
same coordinator/sampler.cc, the history passed on each call) instead of the
service: the sampler alone, without the store or the RPCs.

The figure is the number of trials until the best value so far is <= the
function's target (a run that never gets there counts as budget + 1, and the
table says how many did). Each target is the tightest of a grid (Branin 1,
0.6, 0.5, 0.45, 0.42; Hartmann-6 -2.5, -2.8, -3.0, -3.2; lambda3 0.2, 0.1,
0.05, 0.02, 0.01) that Optuna 3.1's TPE reached in at least three quarters
of 30 seeds within the budget, so that its median is a count, not the budget. Goals: ours
<= 1.1 x Optuna and <= 0.5 x random, in median trials. The test functions
(minimised):
  branin     2-D Branin-Hoo on [-5, 10] x [0, 15], minimum 0.397887 (three optima);
  hartmann6  6-D Hartmann on [0, 1]^6, minimum -3.32237;
  lambda3    three loss weights, each log_uniform in [1e-3, 10], shaped like a
             lambda sweep: with u = log10(lambda), what matters most is the
             ratio of the first two (a narrow ridge of optima along
             u1 - u2 = 0.5), weakly where along it (u1 + u2 = -1), and the
             third near 1e-2:
               f = (u1 - u2 - 0.5)^2 + 0.05 (u1 + u2 + 1)^2 + 0.25 (u3 + 2)^2,
             minimum 0 at lambda = (10^0.25, 10^-0.75, 10^-2).
Always exits 0 when it ran (the figures are for reading, not a gate).
"""

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "service"))


# ---- Test functions: (params spec, function of a params dict, budget, target)

def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
              [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(p):
    x = [p["x%d" % i] for i in range(1, 7)]
    total = 0.0
    for a, row, pp in zip(HARTMANN_ALPHA, HARTMANN_A, HARTMANN_P):
        total += a * math.exp(-sum(r * (xi - pi) ** 2 for r, xi, pi in zip(row, x, pp)))
    return -total


def lambda3(p):
    u1, u2, u3 = (math.log10(p[k]) for k in ("lambda1", "lambda2", "lambda3"))
    return (u1 - u2 - 0.5) ** 2 + 0.05 * (u1 + u2 + 1) ** 2 + 0.25 * (u3 + 2) ** 2


FUNCTIONS = {
    # name: (params, f, budget, target, minimum)
    "branin": ({"x1": {"uniform": [-5, 10]}, "x2": {"uniform": [0, 15]}}, branin, 100, 0.6, 0.397887),
    "hartmann6": ({"x%d" % i: {"uniform": [0, 1]} for i in range(1, 7)}, hartmann6, 150, -3.0, -3.32237),
    "lambda3": ({k: {"log_uniform": [1e-3, 10]} for k in ("lambda1", "lambda2", "lambda3")}, lambda3, 100, 0.02, 0.0),
}


# ---- The three searchers: each returns the list of values in trial order.

def run_optuna(name, seed):
    import optuna
    params, f, budget = FUNCTIONS[name][:3]

    def objective(trial):
        p = {}
        for key, spec in params.items():
            (kind, bounds), = spec.items()
            p[key] = trial.suggest_float(key, bounds[0], bounds[1], log=(kind == "log_uniform"))
        return f(p)

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(multivariate=True, n_startup_trials=10, seed=seed))
    study.optimize(objective, n_trials=budget)
    return [t.value for t in study.trials]


class Service:
    """One redis-server + sic-coordinator for the whole benchmark; a search is a sweep."""

    def __init__(self, build):
        from cluster import Cluster
        self.cluster = Cluster(build)

    def close(self):
        self.cluster.close()

    def sicctl(self, *args):
        r = self.cluster.sicctl(*args)
        if r.returncode != 0:
            raise RuntimeError("sicctl %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
        return r.stdout

    def run(self, name, seed, method):
        params, f, budget = FUNCTIONS[name][:3]
        spec = {"name": "bench-%s-%s-%d" % (name, method, seed),
                "objective": {"metric": "value", "direction": "min"},
                "search": {"method": method, "trials": budget, "seed": seed, "external": True, "params": params}}
        path = os.path.join(self.cluster.dir, "%s-%s-%d.json" % (name, method, seed))
        with open(path, "w") as out:
            json.dump(spec, out)
        m = re.search(r"sweep (\d+)", self.sicctl("sweep", path))
        if not m:
            raise RuntimeError("sicctl sweep printed no sweep id")
        sweep = m.group(1)
        values = []
        for _ in range(budget):
            ask = json.loads(self.sicctl("--format", "json", "ask", sweep))
            v = f(ask["params"])
            self.sicctl("tell", sweep, str(ask["trial"]), repr(v))
            values.append(v)
        return values


class InProc:
    """The sampler through bench_sampler_driver, one process per thread."""

    def __init__(self, build):
        self.driver = os.path.join(build, "bench", "bench_sampler_driver")
        if not os.access(self.driver, os.X_OK):
            raise SystemExit("no %s (ninja -C %s bench_sampler_driver)" % (self.driver, build))

    def close(self):
        pass

    def run(self, name, seed, method):
        params, f, budget = FUNCTIONS[name][:3]
        proc = subprocess.Popen([self.driver], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        history, values = [], []
        try:
            for number in range(budget):
                req = {"options": {"method": method, "seed": seed, "direction": "min"}, "params": params,
                       "history": history, "numbers": [number]}
                proc.stdin.write(json.dumps(req) + "\n")
                proc.stdin.flush()
                answer = json.loads(proc.stdout.readline())
                if isinstance(answer, dict):
                    raise RuntimeError("driver: %s" % answer.get("error"))
                p = answer[0]
                v = f(p)
                history.append({"params": p, "state": "complete", "value": v})
                values.append(v)
        finally:
            proc.stdin.close()
            proc.wait()
        return values


# ---- Figures

def trials_to_target(values, target, budget):
    for i, v in enumerate(values):
        if v <= target:
            return i + 1
    return budget + 1


def summarize(name, results):
    params, f, budget, target, minimum = FUNCTIONS[name]
    rows = {}
    for searcher, runs in results.items():
        counts = [trials_to_target(v, target, budget) for v in runs]
        bests = [min(v) for v in runs]
        rows[searcher] = {
            "median_trials": statistics.median(counts),
            "reached": sum(c <= budget for c in counts),
            "runs": len(runs),
            "median_best_gap": statistics.median(b - minimum for b in bests),
            "trials_to_target": counts,
            "best": bests,
            "values": runs,
        }
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="the build folder (coordinator/sic-coordinator, sicctl/sicctl)")
    ap.add_argument("--quick", action="store_true", help="5 seeds")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--inproc", action="store_true", help="the sampler through bench_sampler_driver, not the service")
    ap.add_argument("--functions", default=",".join(FUNCTIONS))
    ap.add_argument("--searchers", default="ours-tpe,ours-random,optuna")
    ap.add_argument("--jobs", type=int, default=2, help="searches run side by side")
    ap.add_argument("--json", help="also write the figures (and every run's values) here")
    ap.add_argument("--reuse", help="take the optuna runs from an earlier --json of the same seeds "
                                    "(they do not depend on this build), instead of running them again")
    args = ap.parse_args()
    seeds = list(range(5 if args.quick else args.seeds))
    names = [n for n in args.functions.split(",") if n]
    searchers = [s for s in args.searchers.split(",") if s]
    for n in names:
        if n not in FUNCTIONS:
            raise SystemExit("unknown function %s (%s)" % (n, ", ".join(FUNCTIONS)))

    warnings.filterwarnings("ignore")
    try:
        import optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        optuna_version = optuna.__version__
    except ImportError:
        optuna_version = None
        searchers = [s for s in searchers if s != "optuna"]
        print("optuna is not installed (apt-get install python3-optuna): its column is left out")

    ours = None
    if any(s.startswith("ours") for s in searchers):
        ours = InProc(args.build) if args.inproc else Service(args.build)
    started = time.time()
    figures = {}
    try:
        for name in names:
            reused = {}
            if args.reuse and "optuna" in searchers:
                old = json.load(open(args.reuse)).get(name, {}).get("optuna", {}).get("values", [])
                if len(old) < len(seeds):
                    raise SystemExit("%s has %d optuna runs of %s, not %d" % (args.reuse, len(old), name, len(seeds)))
                reused = {("optuna", seed): old[seed] for seed in seeds}
            jobs = []
            for searcher in searchers:
                for seed in seeds:
                    jobs.append((searcher, seed))

            def one(job):
                searcher, seed = job
                if job in reused:
                    return reused[job]
                if searcher == "optuna":
                    return run_optuna(name, seed)
                return ours.run(name, seed, "tpe" if searcher == "ours-tpe" else "random")

            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                values = list(pool.map(one, jobs))
            results = {s: [] for s in searchers}
            for (searcher, _), v in zip(jobs, values):
                results[searcher].append(v)
            figures[name] = summarize(name, results)
            print("%s done (%.0f s)" % (name, time.time() - started), file=sys.stderr)
    finally:
        if ours:
            ours.close()

    mode = "in-process driver" if args.inproc else "service (sicctl ask/tell)"
    print("Sampler quality: median trials to reach the target (unreached = budget + 1); %d seeds; ours via %s; "
          "optuna %s TPESampler(multivariate=True, n_startup_trials=10)" % (len(seeds), mode, optuna_version))
    header = "%-10s %-9s %6s  %-12s %9s %8s %14s" % ("function", "target", "budget", "searcher", "median", "reached",
                                                     "median gap")
    print(header)
    print("-" * len(header))
    for name in names:
        _, _, budget, target, _ = FUNCTIONS[name]
        for searcher, row in figures[name].items():
            print("%-10s %-9g %6d  %-12s %9.1f %5d/%-2d %14.4g" % (name, target, budget, searcher, row["median_trials"],
                                                                 row["reached"], row["runs"], row["median_best_gap"]))
    print()
    print("%-10s %18s %18s" % ("function", "ours-tpe/optuna", "ours-tpe/random"))
    for name in names:
        f = figures[name]
        tpe = f.get("ours-tpe", {}).get("median_trials")
        ratio = lambda other: ("%.2f" % (tpe / f[other]["median_trials"])) if tpe and other in f else "-"
        print("%-10s %18s %18s" % (name, ratio("optuna"), ratio("ours-random")))
    print("(goals: ours-tpe/optuna <= 1.1, ours-tpe/random <= 0.5)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
