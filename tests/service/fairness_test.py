#!/usr/bin/env python3
"""Who runs next on a shared cluster, end to end with real processes
(coordinator/dispatch.h): a small sweep of another user is not starved by a
big one, priorities go first, per-user and per-sweep caps hold across
coordinator restarts, and a sweep that may preempt (admin only) takes a
running trial's worker, which resumes later exactly where it stopped.

usage: fairness_test.py BUILD_DIR [unittest args]"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402

# Trials that train for 0 steps: the claim and report path only, ~10 ms each.
ZERO = {"model": {"n_units": 8, "mlp_hidden": 8}, "data": {"batch_size": 2, "seq_len": 2},
        "optim": {"steps": 0}, "run": {"threads": 1, "checkpoint_every": 0}, "eval": {"enabled": False}}
# Trials that run long enough (~1 s) to be seen running.
SHORT = {"model": {"n_units": 16, "mlp_hidden": 16}, "data": {"batch_size": 8, "seq_len": 10},
         "optim": {"steps": 60}, "run": {"threads": 1, "checkpoint_every": 0, "log_every": 10},
         "eval": {"enabled": False}}

# A trial long enough (a few seconds) to be preempted mid-way.
LONG = {"model": {"n_units": 16, "mlp_hidden": 16}, "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"steps": 1500}, "run": {"threads": 1, "checkpoint_every": 0, "log_every": 50},
        "eval": {"enabled": False}}


def spec(name, base, seeds, **extra):
    s = {"name": name, "base": base, "seeds": seeds}
    s.update(extra)
    return s


class FairnessTest(ClusterTestCase):
    def token(self, c, user, role="member"):
        r = c.sicctl("--format", "json", "token", "create", user, "--role", role)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["token"]

    def submit_as(self, c, token, s, *args):
        path = os.path.join(c.dir, "spec-%d.json" % time.time_ns())
        with open(path, "w") as f:
            json.dump(s, f)
        r = c.sicctl("sweep", path, *args, token=token)
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stdout.split()[1].rstrip(":"))

    def claims(self, c):
        """Every attempt, in the order workers started them: (sweep_id, trial_id, started_at)."""
        return c.query("SELECT t.sweep_id, a.trial_id, a.started_at FROM attempts a JOIN trials t ON t.id = a.trial_id "
                       "ORDER BY a.started_at, a.rowid")

    def test_a_small_sweep_of_another_user_is_not_starved_by_a_big_one(self):
        c = self.cluster(lease_ms=30000)
        ann, bob = self.token(c, "ann"), self.token(c, "bob")
        c.start_worker("w")
        c.wait_workers(["w"])
        big = self.submit_as(c, ann, spec("big", ZERO, 200))
        deadline = time.time() + 120
        while c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'succeeded'", big)[0][0] < 5:
            self.assertLess(time.time(), deadline, "the big sweep does not run")
            time.sleep(0.05)
        small = self.submit_as(c, bob, spec("small", ZERO, 5))
        # The submit committed before it returned.
        committed = time.time()
        (submitted,) = c.query("SELECT created_at FROM sweeps WHERE id = ?", small)[0]
        c.wait_done(small, timeout=120)
        c.wait_done(big, timeout=240)
        after = [(sweep, trial) for sweep, trial, started in self.claims(c) if started > submitted]
        first = [sweep for sweep, _ in after].index(small)
        # Ahead of it only what was already fed when it was submitted: the one queued
        # (--dispatch-ahead 1) and at most one the worker had just claimed but not yet started.
        before = [trial for _, trial in after[:first]]
        self.assertLessEqual(first, 2, "the small sweep's first trial waited for %d claims: %s" % (first, after[:10]))
        # A feed round that read its counts before the commit writes its one trial
        # (--dispatch-ahead 1) with a later enqueued_at: at most one such, no more.
        fed_after = [t for t in before if c.query("SELECT enqueued_at FROM trials WHERE id = ?", t)[0][0] > committed]
        self.assertLessEqual(len(fed_after), 1, "trials fed after the small sweep's submit went first: %s" % fed_after)
        # All 5 finish before the big sweep is half done.
        (last_small,) = c.query("SELECT MAX(finished_at) FROM trials WHERE sweep_id = ?", small)[0]
        (big_done_then,) = c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'succeeded' "
                                   "AND finished_at <= ?", big, last_small)[0]
        self.assertLess(big_done_then, 100)
        owners = dict(c.query("SELECT id, owner FROM sweeps"))
        self.assertEqual((owners[big], owners[small]), ("ann", "bob"))
        # Nothing lost or doubled.
        self.assertEqual(c.query("SELECT COUNT(*) FROM trials WHERE status = 'succeeded'")[0][0], 205)
        self.assertEqual(c.query("SELECT COUNT(*) FROM attempts WHERE outcome = 'succeeded'")[0][0], 205)

    def test_higher_priority_goes_first_and_priority_can_change(self):
        c = self.cluster(lease_ms=30000)
        ann = self.token(c, "ann")
        low = self.submit_as(c, ann, spec("low", ZERO, 30))
        high = self.submit_as(c, ann, spec("high", ZERO, 5), "--priority", "10")
        # No worker yet: one trial is fed ahead (of the high priority sweep).
        c.start_worker("w")
        c.wait_done(high, timeout=120)
        c.wait_done(low, timeout=120)
        order = [sweep for sweep, _, _ in self.claims(c)]
        # At most the one trial fed before the high sweep existed comes first.
        self.assertLessEqual(order.index(high), 1, order)
        self.assertEqual(order[order.index(high):order.index(high) + 5], [high] * 5, order)
        r = c.sicctl("priority", str(low), "7", token=ann)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(c.query("SELECT priority FROM sweeps WHERE id = ?", low)[0][0], 7)

    def running_per_sweep(self, c):
        rows = c.query("SELECT t.sweep_id, COUNT(*) FROM trials t WHERE t.status IN ('queued', 'running') "
                       "GROUP BY t.sweep_id")
        return dict(rows)

    def test_caps_hold_across_coordinator_restarts(self):
        # 2 workers x 2 slots; the default per-user cap is 3, ann's quota 2 (an admin's
        # `sicctl quota set`, kept in SQLite), bob's sweep may have 1 in flight.
        c = self.cluster(lease_ms=30000, coordinator_args=["--max-running-per-user", "3"])
        ann, bob = self.token(c, "ann"), self.token(c, "bob")
        r = c.sicctl("quota", "set", "ann", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        c.start_worker("a", "--concurrency", "2")
        c.start_worker("b", "--concurrency", "2")
        c.wait_workers(["a", "b"])
        a1 = self.submit_as(c, ann, spec("a1", SHORT, 4))
        a2 = self.submit_as(c, ann, spec("a2", SHORT, 4))
        b1 = self.submit_as(c, bob, spec("b1", SHORT, 4, max_running=1))
        peak = {"ann": 0, "bob": 0, "workers_ann": 0}
        restarts = 0
        deadline = time.time() + 240
        while True:
            per_sweep = self.running_per_sweep(c)
            peak["ann"] = max(peak["ann"], per_sweep.get(a1, 0) + per_sweep.get(a2, 0))
            peak["bob"] = max(peak["bob"], per_sweep.get(b1, 0))
            # What the workers themselves say they run (not SQLite's view).
            r = c.sicctl("--format", "json", "workers")
            if r.returncode == 0:
                ids = [t for w in json.loads(r.stdout) for t in w.get("running_trials", [])]
                if ids:
                    owned = c.query("SELECT COUNT(*) FROM trials WHERE sweep_id IN (?, ?) AND id IN (%s)"
                                    % ",".join("?" * len(ids)), a1, a2, *ids)[0][0]
                    peak["workers_ann"] = max(peak["workers_ann"], owned)
            done = c.query("SELECT COUNT(*) FROM trials WHERE status = 'succeeded'")[0][0]
            if done == 12:
                break
            if done >= 3 * (restarts + 1) and restarts < 2:
                c.kill_coordinator()
                time.sleep(0.5)
                c.start_coordinator()
                restarts += 1
            self.assertLess(time.time(), deadline, "sweeps not done: %s" % per_sweep)
            time.sleep(0.05)
        self.assertEqual(restarts, 2)
        self.assertLessEqual(peak["ann"], 2, peak)
        self.assertLessEqual(peak["workers_ann"], 2, peak)
        self.assertLessEqual(peak["bob"], 1, peak)
        self.assertGreaterEqual(peak["ann"], 1, peak)
        self.assertEqual(c.query("SELECT COUNT(*) FROM attempts WHERE outcome = 'succeeded'")[0][0], 12)

    def test_a_sweep_that_may_preempt_takes_a_running_trials_worker_which_resumes_exactly(self):
        c = self.cluster()  # lease 3 s: a worker sees a request at its next heartbeat, within 1 s
        ann, bob = self.token(c, "ann"), self.token(c, "bob", "member")
        c.start_worker("w")
        c.wait_workers(["w"])
        low = self.submit_as(c, ann, spec("low", LONG, 1))
        self.wait_for("the low trial trains", lambda: c.query(
            "SELECT COUNT(*) FROM curves cv JOIN trials t ON t.id = cv.trial_id WHERE t.sweep_id = ? "
            "AND t.status = 'running'", low)[0][0] >= 2, timeout=60)
        # The worker is held (SIGSTOP) until the preemption is asked, so that a fast
        # machine cannot finish the low trial first; its lease thread, whose timed
        # wait ran out meanwhile, reads the request as soon as it runs again.
        worker = c.workers["w"]
        os.kill(worker.pid, signal.SIGSTOP)
        self.addCleanup(lambda: worker.poll() is None and os.kill(worker.pid, signal.SIGCONT))
        # Only an admin may let a sweep preempt: refused, nothing stored, whether asked by flag or spec.
        path = os.path.join(c.dir, "high.json")
        with open(path, "w") as f:
            json.dump(spec("high", SHORT, 1), f)
        sweeps_before = c.query("SELECT COUNT(*) FROM sweeps")[0][0]
        r = c.sicctl("sweep", path, "--preempt", "--priority", "5", token=bob)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("admin", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = c.sicctl("priority", str(low), "3", "--preempt", token=ann)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("admin", r.stderr)
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], sweeps_before)
        self.assertEqual(c.query("SELECT priority, preempt FROM sweeps WHERE id = ?", low)[0], (0, 0))
        # Without preempt, a higher priority waits for the running trial.
        r = c.sicctl("sweep", path, "--priority", "5", token=bob)
        self.assertEqual(r.returncode, 0, r.stderr)
        waiting = int(r.stdout.split()[1].rstrip(":"))
        time.sleep(2)
        self.assertEqual(c.query("SELECT status FROM trials WHERE sweep_id = ?", low)[0][0], "running")
        # The admin lets it preempt: the low trial gives its worker back.
        r = c.sicctl("priority", str(waiting), "5", "--preempt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_for("the request", lambda: c.redis_command("HLEN", "sic:preempt") == 1, timeout=30)
        os.kill(worker.pid, signal.SIGCONT)
        c.wait_done(waiting, timeout=60)
        low_status = c.query("SELECT status FROM trials WHERE sweep_id = ?", low)[0][0]
        self.assertIn(low_status, ("pending", "queued", "running"), "the low trial ran to its end first")
        c.wait_done(low, timeout=120)
        (trial,) = c.query("SELECT id FROM trials WHERE sweep_id = ?", low)[0]
        outcomes = [o for (o,) in c.query("SELECT outcome FROM attempts WHERE trial_id = ? ORDER BY started_at", trial)]
        self.assertEqual(outcomes, ["preempted", "succeeded"], outcomes)
        (preempted_at,) = c.query("SELECT finished_at FROM attempts WHERE trial_id = ? AND outcome = 'preempted'",
                                  trial)[0]
        (high_started,) = c.query("SELECT MIN(a.started_at) FROM attempts a JOIN trials t ON t.id = a.trial_id "
                                  "WHERE t.sweep_id = ?", waiting)[0]
        self.assertGreaterEqual(high_started, preempted_at, "the preempting trial ran on the freed worker")
        resumed = c.query("SELECT value FROM metrics WHERE trial_id = ? AND name = 'resumed_from_step'", trial)[0][0]
        self.assertGreater(resumed, 0, "the second attempt resumed from the preemption's checkpoint")
        self.assertIn("preempted at step %d" % resumed, c.log("worker-w"))
        # Exactly: the same training without preemption ends with the same losses.
        straight = self.submit_as(c, ann, spec("straight", LONG, 1))
        c.wait_done(straight, timeout=120)
        final = "SELECT m.name, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id WHERE t.sweep_id = ? " \
                "AND m.name LIKE 'loss.%' ORDER BY m.name"
        self.assertEqual(c.query(final, low), c.query(final, straight))
        self.assertGreater(len(c.query(final, low)), 0)
        # The request was answered and cleared.
        self.wait_for("the request cleared", lambda: c.redis_command("HLEN", "sic:preempt") == 0, timeout=10)


if __name__ == "__main__":
    ClusterTestCase.BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
