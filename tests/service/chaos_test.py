"""Chaos: 32 short trials of two users on three workers of two device
classes, while workers are killed (kill -9) and restarted, the coordinator is
killed twice, Redis is killed and restarted from its AOF, and once restarted
with its data wiped. ann's sweep (24 trials, cpu) and bob's (8 trials, class
"cuda", priority 5) go through the fair dispatcher and per-class queues:
workers a and b serve cpu, c serves cuda (a CPU process standing in for a GPU
worker). At the end every trial is succeeded exactly once, and no trial ran on
a worker of another class:
  - exactly one outcome applied: the trial is succeeded, and its worker and
    finished_at are those of a succeeded attempt of its final round (duplicate
    jobs may record more attempts; only the first outcome is applied);
  - its metrics rows exactly once (one set, one row per name, `steps` equal to
    the configured steps, a curve without repeated steps);
  - the per-group running sums (group_stats) equal the sums recomputed from
    the metrics rows, so no outcome was added twice or taken out wrongly;
  - no worker failed to write or read a checkpoint: two deliveries of one
    job never work in its folder at once.
The faults come in a fixed order at fixed pauses (a seeded random picks the
workers); waits are bounded and generous, and nothing asserts on timing.

usage: chaos_test.py BUILD_DIR"""

import json
import math
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402
from sweep_e2e_test import spec  # noqa: E402

BIN = None
TRIALS = 32
STEPS = 500
WORKERS = ("a", "b", "c")
CLASS = {"a": "cpu", "b": "cpu", "c": "cuda"}
BOB_TRIALS = 8


class ChaosTest(ClusterTestCase):
    def test_everything_killed_and_every_trial_succeeds_exactly_once(self):
        # max_deliveries high: kills must not fail trials, only delay them.
        c = self.cluster(lease_ms=2000, max_deliveries=100, coordinator_args=["--reconcile-s", "2"])
        rng = random.Random(7)
        tokens = {}
        for user in ("ann", "bob"):
            r = c.sicctl("--format", "json", "token", "create", user, "--role", "member")
            self.assertEqual(r.returncode, 0, r.stderr)
            tokens[user] = json.loads(r.stdout)["token"]
        for w in WORKERS:
            c.start_worker(w, "--class", CLASS[w])
        sweeps = {}
        for user, name, n, extra in (("ann", "chaos", TRIALS - BOB_TRIALS, {}),
                                     ("bob", "chaos-cuda", BOB_TRIALS,
                                      {"priority": 5, "resources": {"device": "cuda"}})):
            path = os.path.join(c.dir, name + ".json")
            with open(path, "w") as f:
                json.dump(spec(name, steps=STEPS, seeds=n, **extra), f)
            r = c.sicctl("sweep", path, token=tokens[user])
            self.assertEqual(r.returncode, 0, r.stderr)
            sweeps[name] = int(r.stdout.split()[1].rstrip(":"))
        sweep_id = sweeps["chaos"]

        def restart_worker():
            w = rng.choice(WORKERS)
            c.kill_worker(w)
            time.sleep(0.3)
            c.start_worker(w, "--class", CLASS[w])

        def restart_coordinator():
            c.kill_coordinator()
            time.sleep(0.3)
            c.start_coordinator()

        def restart_redis(wipe=False):
            c.kill_redis()
            if wipe:
                c.wipe_redis_data()
            time.sleep(0.5)
            c.start_redis()

        faults = [restart_worker, restart_coordinator, lambda: restart_redis(), restart_worker,
                  lambda: restart_redis(wipe=True), restart_coordinator, restart_worker, restart_worker]
        for k, fault in enumerate(faults):
            time.sleep(2.5)
            done = c.query("SELECT COUNT(*) FROM trials WHERE status = 'succeeded'")[0][0]
            sys.stderr.write("chaos: fault %d with %d/%d trials done\n" % (k + 1, done, TRIALS))
            fault()
        for name, n in (("chaos", TRIALS - BOB_TRIALS), ("chaos-cuda", BOB_TRIALS)):
            trials = c.wait_done(sweeps[name], timeout=400)
            self.assertEqual([t["status"] for t in trials], ["succeeded"] * n, trials)
            self.assert_exactly_once(c, sweeps[name], n)
        # No two deliveries of one job worked in its folder at once (worker/folder_lock.h;
        # the whole log: a worker that came back later writes on past the tail):
        # when they did, one renamed the other's checkpoint.pt.tmp or read it half written.
        for w in WORKERS:
            for bad in ("cannot rename into place", "cannot read checkpoint"):
                self.assertNotIn(bad, c.log("worker-" + w, tail=None), "worker %s" % w)
        # Each trial ran only on workers of its class.
        for device_class, worker in c.query("SELECT DISTINCT t.device_class, a.worker FROM attempts a "
                                            "JOIN trials t ON t.id = a.trial_id"):
            self.assertEqual(CLASS[worker], device_class, (device_class, worker))

    def assert_exactly_once(self, c, sweep_id, count):
        rows = c.query("SELECT id, round, worker, finished_at FROM trials WHERE sweep_id = ?", sweep_id)
        self.assertEqual(len(rows), count)
        for trial_id, round_, worker, finished_at in rows:
            applied = c.query("SELECT COUNT(*) FROM attempts WHERE trial_id = ? AND round = ? AND outcome = 'succeeded' "
                              "AND worker = ? AND finished_at = ?", trial_id, round_, worker, finished_at)[0][0]
            self.assertGreaterEqual(applied, 1, "trial %d: its outcome is no succeeded attempt's" % trial_id)
            names = [n for (n,) in c.query("SELECT name FROM metrics WHERE trial_id = ?", trial_id)]
            self.assertEqual(len(names), len(set(names)))
            self.assertIn("loss.total", names)
            steps = c.query("SELECT value FROM metrics WHERE trial_id = ? AND name = 'steps'", trial_id)
            self.assertEqual(steps, [(float(STEPS),)])
            curve = [s for (s,) in c.query("SELECT step FROM curves WHERE trial_id = ?", trial_id)]
            self.assertEqual(len(curve), len(set(curve)))
            self.assertEqual(max(curve), STEPS)
        # The running sums equal the sums of the rows.
        recomputed = {}
        for variant, point, name, value in c.query(
                "SELECT t.variant, t.point, m.name, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id "
                "WHERE t.sweep_id = ?", sweep_id):
            n, nan, total, sumsq = recomputed.get((variant, point, name), (0, 0, 0.0, 0.0))
            if value is None:
                recomputed[(variant, point, name)] = (n, nan + 1, total, sumsq)
            else:
                recomputed[(variant, point, name)] = (n + 1, nan, total + value, sumsq + value * value)
        stats = {(v, p, name): (n, nan, total, sumsq) for v, p, name, n, nan, total, sumsq in c.query(
            "SELECT variant, point, name, n, nan, sum, sumsq FROM group_stats WHERE sweep_id = ?", sweep_id)}
        self.assertEqual(sorted(stats), sorted(recomputed))
        for key, (n, nan, total, sumsq) in recomputed.items():
            sn, snan, stotal, ssumsq = stats[key]
            self.assertEqual((sn, snan), (n, nan), key)
            self.assertTrue(math.isclose(stotal, total, rel_tol=1e-9, abs_tol=1e-9), (key, stotal, total))
            self.assertTrue(math.isclose(ssumsq, sumsq, rel_tol=1e-9, abs_tol=1e-9), (key, ssumsq, sumsq))
        self.assertEqual(sum(n for (n, _, _, _) in [stats[k] for k in stats if k[2] == "loss.total"]), count)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    ClusterTestCase.BIN = BIN
    unittest.main(verbosity=2)
