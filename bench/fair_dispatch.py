#!/usr/bin/env python3
"""The fair dispatcher's cost (coordinator/dispatch.h) against first-in-first-out.

Zero-step trials through the whole pipeline (sicctl -> coordinator -> SQLite ->
Redis -> W sic-worker processes -> Redis -> coordinator -> SQLite), in three runs
of the same coordinator binary, each in one script so that the ratios compare
like with like on this machine:
  fifo  --dispatch fifo: one sweep, every trial in the queue at submit (the
        single-FIFO figure of bench/dispatch.py);
  fair1 --dispatch fair: the same single sweep, fed a few ahead of the workers;
  fair  --dispatch fair: U users with S sweeps in all (N trials), all
        submitted before the workers start, by priority and fair share.
For each: wall time per trial, coordinator CPU per trial, and the claim
latency (a worker's gap between finishing one attempt and starting the next,
from the attempts table: the time it waits for the dispatcher).

usage: bench/fair_dispatch.py [BUILD_DIR] [--trials N] [--sweeps S] [--users U] [--workers W]"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "service"))
from cluster import Cluster  # noqa: E402

BASE = {"model": {"n_units": 8, "mlp_hidden": 8}, "data": {"batch_size": 2, "seq_len": 2},
        "optim": {"steps": 0}, "run": {"threads": 1, "checkpoint_every": 0}, "eval": {"enabled": False}}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(build_dir, mode, trials, sweeps, users, workers):
    with Cluster(build_dir, lease_ms=30000, max_trials=max(10000, trials),
                 coordinator_args=["--dispatch", "fifo" if mode == "fifo" else "fair"]) as c:
        tokens = []
        for u in range(users):
            r = c.sicctl("--format", "json", "token", "create", "user%02d" % u, "--role", "member")
            if r.returncode != 0:
                sys.exit("token create: " + r.stderr)
            tokens.append(json.loads(r.stdout)["token"])
        per_sweep = trials // sweeps
        for s in range(sweeps):
            spec = {"name": "s%02d" % s, "seeds": per_sweep, "base": BASE, "priority": s % 3}
            path = os.path.join(c.dir, "s%d.json" % s)
            with open(path, "w") as f:
                json.dump(spec, f)
            r = c.sicctl("sweep", path, token=tokens[s % users])
            if r.returncode != 0:
                sys.exit("submit: " + r.stderr)
        total = per_sweep * sweeps
        cpu0 = cpu_seconds(c.coordinator.pid)
        t0 = time.time()
        for w in range(workers):
            c.start_worker("w%d" % w)
        while True:
            (done,) = c.query("SELECT COUNT(*) FROM trials WHERE status = 'succeeded'")[0]
            if done == total:
                break
            time.sleep(0.05)
        # From the first claim: the workers' start-up (LibTorch loads) is not dispatch.
        (first,) = c.query("SELECT MIN(started_at) FROM attempts")[0]
        (last,) = c.query("SELECT MAX(finished_at) FROM trials")[0]
        wall = last - first
        cpu = cpu_seconds(c.coordinator.pid) - cpu0
        gaps = []
        for (worker,) in c.query("SELECT DISTINCT worker FROM attempts"):
            rows = c.query("SELECT started_at, finished_at FROM attempts WHERE worker = ? ORDER BY started_at", worker)
            gaps += [b[0] - a[1] for a, b in zip(rows, rows[1:]) if a[1] and b[0] >= a[1]]
        (ok,) = c.query("SELECT COUNT(*) FROM attempts WHERE outcome = 'succeeded'")[0]
    return {"trials": total, "wall": wall, "cpu": cpu, "ok": ok,
            "gap_ms": 1000 * statistics.median(gaps) if gaps else float("nan"),
            "gap95_ms": 1000 * sorted(gaps)[int(0.95 * (len(gaps) - 1))] if gaps else float("nan")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--sweeps", type=int, default=50)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    runs = [("fifo", 1, 1), ("fair1", 1, 1), ("fair", a.sweeps, a.users)]
    out = {}
    for mode, sweeps, users in runs:
        out[mode] = r = run(a.build_dir, mode, a.trials, sweeps, users, a.workers)
        print("%-5s %5d trials, %2d sweeps, %2d users, %d workers: %6.2f ms wall/trial, coordinator CPU %5.2f ms/trial, "
              "claim gap median %5.2f ms (p95 %5.2f), exactly once: %s" % (
                  mode, r["trials"], sweeps, users, a.workers, 1000 * r["wall"] / r["trials"],
                  1000 * r["cpu"] / r["trials"], r["gap_ms"], r["gap95_ms"], r["ok"] == r["trials"]), flush=True)
    base = out["fifo"]
    for mode in ("fair1", "fair"):
        r = out[mode]
        print("%s / fifo: wall per trial %.2fx, coordinator CPU per trial %.2fx (target: at most 2x)" % (
            mode, (r["wall"] / r["trials"]) / (base["wall"] / base["trials"]),
            (r["cpu"] / r["trials"]) / (base["cpu"] / base["trials"])))


if __name__ == "__main__":
    main()
