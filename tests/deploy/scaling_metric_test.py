#!/usr/bin/python3
"""The autoscaling metric, with the real coordinator, workers and Redis.

KEDA scales the workers (deploy/k8s) on the length of the trial stream, on
the promise that the length is exactly the trials still needing a worker:
queued ones, running ones, and ones a stopped worker released. That holds
because workers delete an entry only once its result is in. If the queue
ever kept finished entries, the workers would never scale to zero; if it
dropped released ones, their trials would wait for a worker forever. This
checks the promise at each step of a sweep's life, against SQLite's count
of unfinished trials.

usage: scaling_metric_test.py BUILD_DIR [unittest args]"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "service"))
from cluster import Cluster  # noqa: E402

BIN = None

# Tiny trials (milliseconds a step on one core), long enough to be caught running.
SPEC = {
    "name": "scaling",
    "base": {
        "model": {"n_units": 16, "mlp_hidden": 32},
        "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"lr": 1e-3, "steps": 1500, "plateau": {"interval": 20}},
        "run": {"checkpoint_every": 50, "log_every": 10},
        "eval": {"enabled": False},
    },
    "seeds": 2,
}


class ScalingMetric(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(BIN)
        self.addCleanup(self.c.close)

    def redis(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.c.redis_port), "--no-auth-warning",
                            "-a", self.c.redis_password, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def stream_length(self):
        # What KEDA's redis-streams trigger reads with streamLength (XLEN).
        return int(self.redis("XLEN", "sic:trials"))

    def unfinished(self, sweep_id):
        return self.c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status IN "
                            "('pending', 'queued', 'running')", sweep_id)[0][0]

    def wait(self, what, predicate, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def statuses(self, sweep_id):
        return sorted(t["status"] for t in self.c.trials(sweep_id) or [])

    def test_stream_length_counts_exactly_the_unfinished_trials(self):
        c = self.c
        sweep_id = c.submit(json.dumps(SPEC))
        # Queued, no worker: both count, so KEDA starts workers from zero.
        self.wait("queued", lambda: self.statuses(sweep_id) == ["queued", "queued"])
        self.assertEqual(self.stream_length(), 2)
        self.assertEqual(self.unfinished(sweep_id), 2)

        # Running: the claimed trial still counts (lag would not count it).
        c.start_worker("a")
        self.wait("a trial running", lambda: any(
            t["status"] == "running" and int(t["step"].split("/")[0]) >= 50 for t in c.trials(sweep_id) or []))
        self.assertEqual(self.stream_length(), 2)
        self.assertEqual(self.redis("XPENDING", "sic:trials", "workers").splitlines()[0], "1")

        # Stopped by SIGTERM (a scale-down): released, still counted, so a worker comes back for it.
        self.assertEqual(c.kill_worker("a", signal.SIGTERM), 0)
        self.assertIn("stopped; checkpoint kept and trial released", c.log("worker-a"))
        self.assertEqual(self.stream_length(), 2)
        self.assertEqual(self.unfinished(sweep_id), 2)

        # One trial done by a one-shot worker (a Job): one fewer.
        p = c.start_worker("b", "--one-shot")
        self.assertEqual(p.wait(timeout=180), 0)
        c.workers.pop("b")
        self.wait("one trial recorded", lambda: self.statuses(sweep_id).count("succeeded") == 1)
        self.assertEqual(self.stream_length(), 1)
        self.assertEqual(self.unfinished(sweep_id), 1)

        # All done: an empty stream, so KEDA scales the workers to zero.
        c.start_worker("c")
        trials = c.wait_done(sweep_id)
        self.assertEqual([t["status"] for t in trials], ["succeeded", "succeeded"])
        self.assertEqual(self.stream_length(), 0)
        self.assertEqual(self.unfinished(sweep_id), 0)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
