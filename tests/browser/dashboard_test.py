#!/usr/bin/env python3
"""The dashboard end to end: a real redis-server, sic-coordinator (HTTP on a
free port, serving web/) and two sic-workers (tests/service/cluster.py), then
dashboard.mjs drives Debian's headless chromium through every page while the
workers train two small sweeps it submits: an ablation sweep (one variant
fails on purpose, on a device no machine has) and a 2 x 2 lambda grid. An
adaptive sweep's rows (tests/service/search_fixture.py) are written into the
coordinator's file first, for the search view and a trial's evaluations.
Last, a sweep of a device class no worker serves ("a100"), for the Queue
page, the owner and priority columns and the user filter of the sweep list,
and a trial that says it waits for a worker of its class.

    dashboard_test.py BUILD_DIR [NODE] [--only-search]

--only-search starts no workers and checks only the adaptive sweep's views
and the queue view (seconds instead of minutes, for work on them).

Screenshots go to BUILD_DIR/screenshots/ (CI keeps them as artifacts)."""

import copy
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "service"))
from cluster import Cluster  # noqa: E402
import search_fixture  # noqa: E402

# examples/smoke.json's network: a trial trains and is evaluated (with pictures)
# in a couple of seconds on one core.
BASE = json.load(open(os.path.join(ROOT, "examples", "smoke.json")))["base"]


def specs():
    ablations = {
        "name": "browser-ablations",
        "description": "Dashboard test: the ablation view, with one variant that fails (on a broken cuda worker).",
        "base": copy.deepcopy(BASE),
        "ablations": {
            "no_capacity": {"loss.lambda_cap": 0},
            "no_permutation": {"data.trajectories": "identical"},
            # Class cuda: run by the one cuda worker, whose checkpoint folder is a file.
            "broken_gpu": {"run.device": "cuda:7"},
        },
        "seeds": 2,
    }
    grid = {
        "name": "browser-lambda",
        "description": "Dashboard test: metric against each lambda and the heat map.",
        "base": copy.deepcopy(BASE),
        "grid": {"loss.lambda_cap": [0, 0.5], "loss.lambda_coniso": [0, 0.1]},
        "seeds": 2,
    }
    return {"ablations": ablations, "lambda": grid}


def main():
    only_search = "--only-search" in sys.argv
    args = [a for a in sys.argv if a != "--only-search"]
    build = os.path.abspath(args[1])
    shots = os.path.join(build, "screenshots")
    os.makedirs(shots, exist_ok=True)
    for f in os.listdir(shots):
        if f.endswith(".png"):
            os.remove(os.path.join(shots, f))
    t0 = time.time()
    # The dashboard of this checkout (with its node_modules), whichever source
    # tree the coordinator was built from; the coordinator reads SIC_WEB_DIR.
    os.environ["SIC_WEB_DIR"] = os.path.join(ROOT, "web")
    with Cluster(build, max_deliveries=2) as c:
        workers = [] if only_search else ["w1", "w2"]
        for w in workers:
            c.start_worker(w)
        if not only_search:
            # A worker of class cuda (a CPU process standing in) that fails every attempt:
            # its checkpoint folder is a file. Only the broken_gpu variant reaches it.
            broken = os.path.join(c.dir, "not-a-folder")
            open(broken, "w").close()
            c.start_worker("gpu1", "--class", "cuda", checkpoint_dir=broken)
        # An adaptive sweep's rows, for the search view and a trial's evaluations.
        search = search_fixture.create(c.db_path)
        env = dict(os.environ, SIC_URL=c.http_url, SIC_TOKEN=c.token, SIC_SPECS=json.dumps(specs()),
                   SIC_WORKERS=",".join(workers), SIC_SHOTS=shots, SIC_SEARCH=json.dumps(search),
                   SIC_DB=c.db_path, SIC_FIXTURE=search_fixture.__file__, SIC_ONLY="search" if only_search else "")
        node = args[2] if len(args) > 2 else "node"
        r = subprocess.run([node, os.path.join(HERE, "dashboard.mjs")], env=env, timeout=540)
        if r.returncode != 0:
            for name in ["coordinator"] + ["worker-" + w for w in workers]:
                sys.stderr.write("---- %s log\n%s\n" % (name, c.log(name)))
    print("dashboard_test: %.1f s" % (time.time() - t0))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
