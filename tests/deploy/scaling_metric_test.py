#!/usr/bin/python3
"""The autoscaling metrics, with the real coordinator, workers and Redis.

KEDA scales the workers (deploy/k8s/base/autoscaling.yaml) on the larger of
two counts. The length of the trial stream promises to be exactly the fed
trials still needing a worker: queued ones, running ones, and ones a stopped
worker released. That holds because workers delete an entry only once its
result is in. If the queue ever kept finished entries, the workers would
never scale to zero; if it dropped released ones, their trials would wait
for a worker forever. This checks the promise at each step of a sweep's
life, against SQLite's count of unfinished trials.

An adaptive sweep is fed lazily: its trials wait in SQLite and the stream
holds at most --feed-ahead of them beyond the idle workers, so with no
worker the stream says 2 where 6 trials want one. GET /api/v1/demand (what
KEDA's metrics-api trigger reads) must say 6, and reach 0 with the stream
once the sweep is done.

usage: scaling_metric_test.py BUILD_DIR [unittest args]"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

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

# Six configurations of an ASHA sweep (rungs at 10, 30 and 90 steps): all
# wait for the feed at submit.
LAZY = {
    "name": "lazy",
    "base": {
        "model": {"n_units": 16, "mlp_hidden": 32},
        "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"lr": 1e-3, "steps": 90, "plateau": {"interval": 20}},
        "run": {"checkpoint_every": 10, "log_every": 5},
        "eval": {"enabled": False},
    },
    "grid": {"optim.lr": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]},
    "objective": {"metric": "loss.total", "direction": "min"},
    "schedule": {"method": "asha", "min_steps": 10, "reduction_factor": 3},
}
FEED_AHEAD = 2  # sic-coordinator --feed-ahead, by default
# Trial states that want a worker: fed (in the queue or on a worker), unfed (waiting for the
# dispatcher or the adaptive feed).
FED = ("queued", "running")
UNFED = ("pending", "waiting")


class ScalingMetric(unittest.TestCase):
    def setUp(self):
        # Two trials fed beyond the (no) workers: the whole two-trial sweep sits in the stream,
        # as KEDA's stream trigger sees it; the lazy test below needs the demand route instead.
        self.c = Cluster(BIN, coordinator_args=["--dispatch-ahead", "2"])
        self.addCleanup(self.c.close)

    def redis(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.c.redis_port), "--no-auth-warning",
                            "-a", self.c.redis_password, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def stream_length(self):
        # What KEDA's redis-streams trigger reads with streamLength (XLEN).
        return int(self.redis("XLEN", "sic:trials:cpu"))

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

    def demand(self, cluster=None, token=None):
        """GET /api/v1/demand, as KEDA's metrics-api trigger reads it (with authMode bearer when token)."""
        req = urllib.request.Request((cluster or self.c).http_url + "/api/v1/demand")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)
            body = json.load(r)
        self.assertEqual(set(body), {"demand", "fed", "unfed"}, body)
        self.assertEqual(body["demand"], body["fed"] + body["unfed"], body)
        return body

    def count(self, sweep_id, *states):
        return self.c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status IN (%s)"
                            % ", ".join("?" * len(states)), sweep_id, *states)[0][0]

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
        self.assertEqual(self.redis("XPENDING", "sic:trials:cpu", "workers").splitlines()[0], "1")

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

    def test_demand_counts_the_trials_a_lazy_feed_holds_back(self):
        c = self.c
        sweep_id = c.submit(LAZY)
        # No worker: the feed queues at most FEED_AHEAD trials, the others wait in SQLite.
        self.wait("the feed's first trials queued", lambda: self.count(sweep_id, "queued") > 0)
        # Several reads across the feed's passes: whenever read, the stream holds
        # the fed few and demand counts all six (nothing runs, pauses or ends yet).
        for _ in range(20):
            d = self.demand()
            length = self.stream_length()
            self.assertLessEqual(length, FEED_AHEAD)
            self.assertEqual(d["demand"], 6, d)
            self.assertLessEqual(d["fed"], FEED_AHEAD, d)
            time.sleep(0.1)
        # Once the fed ones are in the stream, the two agree with SQLite's states.
        self.wait("the fed trials in the stream",
                  lambda: self.count(sweep_id, "queued") > 0 and self.stream_length() == self.demand()["fed"])
        d = self.demand()
        self.assertEqual(d["fed"], self.count(sweep_id, *FED))
        self.assertEqual(d["unfed"], self.count(sweep_id, *UNFED))
        self.assertGreaterEqual(d["unfed"], 6 - FEED_AHEAD)
        self.assertLess(self.stream_length(), d["demand"])

        # One worker, to the end: trials pause at rungs, are promoted or stopped,
        # one is trained to 90 steps; then nothing wants a worker and the
        # stream is empty (the discards of stopped trials' checkpoints included),
        # so both triggers let KEDA scale the workers to zero.
        c.start_worker("a")
        trials = c.wait_done(sweep_id, timeout=400)
        statuses = [t["status"] for t in trials]
        self.assertIn("succeeded", statuses)
        self.assertLessEqual(set(statuses), {"succeeded", "stopped"}, statuses)
        self.wait("demand 0 and an empty stream",
                  lambda: self.demand()["demand"] == 0 and self.stream_length() == 0, timeout=120)
        self.assertEqual(self.demand(), {"demand": 0, "fed": 0, "unfed": 0})
        self.assertEqual(self.count(sweep_id, "waiting", "paused", *FED), 0)

    def test_demand_takes_the_token_under_auth_reads(self):
        # KEDA sends the coordinator's token as a bearer credential
        # (TriggerAuthentication sic-coordinator): that must be what
        # --auth-reads asks for, and a missing one a 401, not a 0.
        c = Cluster(BIN, coordinator_args=["--auth-reads"])
        self.addCleanup(c.close)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(c.http_url + "/api/v1/demand", timeout=10)
        self.assertEqual(e.exception.code, 401)
        self.assertEqual(self.demand(c, token=c.token), {"demand": 0, "fed": 0, "unfed": 0})
        # Open reads (the manifests' default) answer without one.
        self.assertEqual(self.demand(), {"demand": 0, "fed": 0, "unfed": 0})


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
