#!/usr/bin/env python3
"""REST API under load: a store seeded through the real writer with one sweep
of 20,000 trials (38 metrics and a 200-point curve each; a few thousand left unfinished),
served by a real sic-coordinator, measured with wrk on three pages of the
dashboard:
  listing   /api/v1/sweeps/1/trials sorted by one of three metrics, random page
  summary   /api/v1/sweeps/1/summary (500 groups)
  trial     /api/v1/trials/N and its /curve, N random
first on a quiet coordinator, then while it ingests the unfinished trials'
results (real worker events through Redis, RATE outcomes/s) into the same
sweep. Prints requests/s and p99 latency of each, and the ratio of the two runs.

usage: bench/rest_api.py [BUILD_DIR] [--trials N] [--seconds S] [--connections C,C] [--rate R]"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "service"))
from cluster import Cluster  # noqa: E402

# What the dashboard's tables and plots ask for (docs/rest-api.md, `metrics`).
SHOWN = "loss.total,eval.2m.max_score60,eval.2m.median_score60,eval.2m.n_modules,eval.2m.fraction_grid.0.3"

PAGES = {
    "listing": """
local sorts = {"eval.2m.max_score60", "loss.total", "eval.2m.n_modules"}
request = function()
  local path = string.format("/api/v1/sweeps/1/trials?sort=%%s&order=desc&limit=50&offset=%%d&metrics=%(shown)s",
                             sorts[math.random(#sorts)], 50 * math.random(0, 399))
  return wrk.format("GET", path)
end""",
    "summary": """
request = function() return wrk.format("GET", "/api/v1/sweeps/1/summary?metrics=%(shown)s") end""",
    "trial": """
local n = 0
request = function()
  n = n + 1
  local id = math.random(1, %(trials)d)
  if n %% 2 == 0 then return wrk.format("GET", "/api/v1/trials/" .. id .. "/curve") end
  return wrk.format("GET", "/api/v1/trials/" .. id)
end""",
}


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url, script, seconds, connections):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", "%ds" % seconds, "--latency",
                          "-s", script, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError("wrk saw %s error answers:\n%s" % (errors.group(1), out))
    return rps, p99


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", nargs="?", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", default="4,8", help="wrk connections, one run each")
    ap.add_argument("--rate", type=float, default=50, help="results ingested per second during the second run")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("rest_api: wrk is not installed (scripts/bootstrap installs it)")
    tool = os.path.join(args.build_dir, "bench", "bench_rest_load")
    work = tempfile.mkdtemp(prefix="sic-rest-bench-")
    db = os.path.join(work, "seed.db")
    # Enough unfinished trials that ingestion lasts the whole second phase.
    connections = [int(n) for n in args.connections.split(",")]
    phase_seconds = len(connections) * len(PAGES) * (args.seconds + 2) + 1
    pending = min(args.trials // 2, max(args.trials // 10, int(args.rate * phase_seconds * 1.3)))
    t0 = time.time()
    subprocess.run([tool, "seed", db, "--trials", str(args.trials), "--pending", str(pending)], check=True,
                   stdout=subprocess.DEVNULL)
    print("seeded %d trials (%d unfinished) through the Store in %.0f s" % (args.trials, pending, time.time() - t0))

    c = Cluster(args.build_dir)
    try:
        c.kill_coordinator()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(c.db_path + suffix):
                os.remove(c.db_path + suffix)
        shutil.copy(db, c.db_path)
        c.start_coordinator()
        scripts = {}
        for name, lua in PAGES.items():
            scripts[name] = os.path.join(work, name + ".lua")
            with open(scripts[name], "w") as f:
                f.write(lua % {"trials": args.trials, "shown": SHOWN})
        results = {}
        ingested = 0
        for phase in ("quiet", "ingesting"):
            feeder = None
            if phase == "ingesting":
                before = metric(c.http_url, "sic_ingest_latency_seconds_count")
                feeder = subprocess.Popen([tool, "ingest", "--db", c.db_path, "--redis",
                                           "127.0.0.1:%d" % c.redis_port, "--password", c.redis_password,
                                           "--sweep", "1", "--rate", str(args.rate)], stderr=subprocess.DEVNULL)
                time.sleep(1)
            for n in connections:
                for name, script in scripts.items():
                    run_wrk(c.http_url, script, 2, n)  # warm the page cache
                    results[(phase, n, name)] = run_wrk(c.http_url, script, args.seconds, n)
            if feeder:
                ingested = metric(c.http_url, "sic_ingest_latency_seconds_count") - before
                feeder.kill()
                feeder.wait()
        print("\n%-8s %5s %12s %11s %13s %11s %10s" % ("page", "conns", "quiet req/s", "quiet p99",
                                                      "ingest req/s", "ingest p99", "p99 ratio"))
        for n in connections:
            for name in PAGES:
                q, i = results[("quiet", n, name)], results[("ingesting", n, name)]
                print("%-8s %5d %12.0f %9.1fms %13.0f %9.1fms %10.2f" % (name, n, q[0], q[1], i[0], i[1], i[1] / q[1]))
        print("\nwhile measuring under ingest: %d worker events ingested into the same sweep (target %.0f "
              "outcomes/s, 2 events each); wrk (1 thread) on the same machine" % (ingested, args.rate))
    finally:
        c.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
