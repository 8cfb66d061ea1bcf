#!/usr/bin/env python3
"""Dispatch overhead of the sweep service: N trials that train for zero steps,
through the whole pipeline (sicctl -> sic-coordinator -> SQLite -> Redis ->
W sic-worker processes -> Redis -> coordinator -> SQLite), timed from submit to
the last result committed. Prints trials/s and the overhead per trial.
For scale: Ray Tune reports about 9 ms of overhead per trial on 16 CPUs.

usage: bench/dispatch.py [BUILD_DIR] [--trials N] [--workers W]"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "service"))
from cluster import Cluster  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()

    spec = {"name": "dispatch", "seeds": args.trials, "base": {
        "model": {"n_units": 8, "mlp_hidden": 8}, "data": {"batch_size": 2, "seq_len": 2},
        "optim": {"steps": 0}, "run": {"threads": 1, "checkpoint_every": 0}, "eval": {"enabled": False}}}
    with Cluster(args.build_dir, lease_ms=30000) as c:
        for w in range(args.workers):
            c.start_worker("w%d" % w)
        # Let the workers start (LibTorch loads in ~0.5 s) before the clock starts.
        deadline = time.time() + 30
        while time.time() < deadline:
            r = c.sicctl("--format", "json", "workers")
            if r.returncode == 0 and len(json.loads(r.stdout)) == args.workers:
                break
            time.sleep(0.1)
        path = os.path.join(c.dir, "dispatch.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        t0 = time.perf_counter()
        sweep_id = c.submit(spec)
        while True:
            (done,) = c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status IN "
                              "('succeeded', 'failed', 'stopped', 'canceled')", sweep_id)[0]
            if done == args.trials:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        cpu = {"coordinator": cpu_seconds(c.coordinator.pid), "redis": cpu_seconds(c.redis.pid),
               "workers": sum(cpu_seconds(p.pid) for p in c.workers.values())}
        ok = c.query("SELECT COUNT(*) FROM trials WHERE status = 'succeeded'")[0][0]
        rows = c.query("SELECT COUNT(*) FROM metrics WHERE name = 'steps'")[0][0]
    cpus = os.cpu_count()
    print("dispatch: %d zero-step trials, %d workers, %d CPUs: %.2f s" % (args.trials, args.workers, cpus, wall))
    print("  succeeded %d, result rows %d (exactly one each: %s)" % (ok, rows, ok == rows == args.trials))
    print("  throughput            %8.1f trials/s" % (args.trials / wall))
    print("  wall time per trial   %8.2f ms   (Ray Tune: ~9 ms per trial on 16 CPUs)" % (1000 * wall / args.trials))
    print("  worker time per trial %8.2f ms   (wall x workers / trials)" % (1000 * wall * args.workers / args.trials))
    print("  CPU per trial (incl. start-up): " + ", ".join(
        "%s %.2f ms" % (k, 1000 * v / args.trials) for k, v in cpu.items()))


def cpu_seconds(pid):
    """User + system CPU time of a running process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
