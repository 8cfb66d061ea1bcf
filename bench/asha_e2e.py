#!/usr/bin/python3
"""Scheduler savings end to end (issue 11): the 27 configurations of
bench/asha_sweep.json run through the real service twice, with real workers:
once in full (the spec without its schedule: the baseline) and once under its
ASHA schedule (pause at rungs, promotion from checkpoints). Prints the
training steps each took, where ASHA's best configuration ranks in the full
sweep, and the Spearman rank correlation between each rung's signal and the
full sweep's final objective (which rung signal to trust).

  bench/asha_e2e.py [BUILD_DIR] [--workers 2] [--spec bench/asha_sweep.json]

Targets (issue 11): ASHA trains at most 40% of the full sweep's steps, and its
best final objective is among the full sweep's top 3. Not a test: it prints.
"""
import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "service"))
from cluster import Cluster  # noqa: E402


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):  # average ranks for ties
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(xs, ys):
    if len(xs) < 3:
        return float("nan")
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx > 0 and vy > 0 else float("nan")


def key(overrides):
    o = json.loads(overrides)
    o.pop("run.seed", None)
    return json.dumps(o, sort_keys=True)


def run(c, spec, timeout):
    t0 = time.time()
    sweep = c.submit(spec)
    c.wait_done(sweep, timeout=timeout)
    wall = time.time() - t0
    rows = c.query("SELECT t.overrides, t.status, t.steps_done, "
                   "(SELECT value FROM metrics m WHERE m.trial_id = t.id AND m.name = ?) "
                   "FROM trials t WHERE t.sweep_id = ?", spec["objective"]["metric"], sweep)
    rungs = c.query("SELECT t.overrides, r.rung, r.step, r.value FROM rungs r JOIN trials t ON t.id = r.trial_id "
                    "WHERE t.sweep_id = ?", sweep)
    return sweep, wall, rows, rungs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--spec", default=os.path.join(HERE, "asha_sweep.json"))
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()
    with open(args.spec) as f:
        asha = json.load(f)
    full = json.loads(json.dumps(asha))
    full.pop("schedule")
    full["name"] = asha["name"] + "-full"
    steps = asha["schedule"].get("max_steps", asha["base"]["optim"]["steps"])
    minimize = asha["objective"].get("direction", "max") == "min"

    c = Cluster(args.build)
    try:
        for w in range(args.workers):
            c.start_worker("w%d" % w)
        _, full_wall, full_rows, _ = run(c, full, args.timeout)
        _, asha_wall, asha_rows, rungs = run(c, asha, args.timeout)
    finally:
        c.close()

    final = {key(o): v for o, status, _, v in full_rows if status == "succeeded"}
    full_steps = sum(s for _, status, s, _ in full_rows if status == "succeeded")
    asha_steps = sum(s for _, _, s, _ in asha_rows)
    ordered = sorted(final.values(), reverse=not minimize)
    done = [(v, key(o)) for o, status, _, v in asha_rows if status == "succeeded"]
    best_value, best_key = (min if minimize else max)(done)
    rank = ordered.index(final[best_key]) + 1

    print("sic-sweep ASHA end to end: %d configurations, %d workers, %s (%s)"
          % (len(final), args.workers, platform.node(), platform.processor() or platform.machine()))
    print("schedule: %s" % json.dumps(asha["schedule"]))
    print("objective: %s (%s)" % (asha["objective"]["metric"], "min" if minimize else "max"))
    print()
    print("%-10s %12s %10s %10s" % ("sweep", "steps", "wall s", "trials"))
    print("%-10s %12d %10.1f %10d" % ("full", full_steps, full_wall, len(full_rows)))
    print("%-10s %12d %10.1f %10d" % ("asha", asha_steps, asha_wall, len(asha_rows)))
    print()
    print("steps ASHA / full:          %.1f%%   (target <= 40%%)" % (100.0 * asha_steps / full_steps))
    print("ASHA's best: %s = %.5g; its rank in the full sweep: %d of %d   (target <= 3)"
          % (best_key, best_value, rank, len(ordered)))
    print("its value equals the full sweep's for the same configuration: %s"
          % (abs(final[best_key] - best_value) <= 1e-9 * max(1.0, abs(best_value))))
    print()
    print("rung  step   trials  Spearman(rung signal, final objective of the full sweep)")
    by_rung = {}
    for o, rung, step, value in rungs:
        by_rung.setdefault((rung, step), []).append((value, final.get(key(o))))
    for (rung, step), pairs in sorted(by_rung.items()):
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        rho = spearman([a for a, _ in pairs], [b for _, b in pairs])
        print("%4d %6d %8d  %.2f" % (rung, step, len(pairs), rho))


if __name__ == "__main__":
    main()
