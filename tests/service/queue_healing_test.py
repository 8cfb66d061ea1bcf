"""End-to-end tests of the queue healing itself, with real processes: a retry
of a canceled sweep is refused, results that cannot be recorded become dead
letters while other results flow, and the reconciler enqueues again what
Redis lost.

usage: queue_healing_test.py BUILD_DIR [unittest args]"""

import json
import os
import struct
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
from cluster import ClusterTestCase  # noqa: E402
from make_result_event_seeds import blob, f64, header, outcome  # noqa: E402
from sweep_e2e_test import spec  # noqa: E402

BIN = None


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def event_without_kind(trial_id):
    """A WorkerEvent (proto/sweep.proto) that parses but says nothing: trial,
    round 1, delivery 1, worker "x", no progress, outcome nor attempt_error."""
    return (b"\x08" + varint(trial_id) + b"\x10\x01" + b"\x18\x01" + b"\x22\x01x" +
            b"\x29" + struct.pack("<d", time.time()))


class QueueHealingTest(ClusterTestCase):
    def wait_status(self, c, sweep_id, statuses, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = c.query("SELECT status FROM trials WHERE sweep_id = ?", sweep_id)
            if rows and all(s in statuses for (s,) in rows):
                return
            time.sleep(0.2)
        self.fail("sweep %d never all in %s: %s" % (sweep_id, statuses, c.trials(sweep_id)))

    def test_retry_of_a_canceled_sweep_is_refused(self):
        # Workers skip every job of a canceled sweep: before, the retried trial
        # was left queued forever.
        c = self.cluster(max_deliveries=1)
        open(os.path.join(c.dir, "checkpoints"), "w").close()  # fails every attempt the same way
        c.start_worker("a")
        s = spec("fails", seeds=1)
        sweep_id = c.submit(s)
        trials = c.wait_done(sweep_id, timeout=120)
        self.assertEqual(trials[0]["status"], "failed")
        r = c.sicctl("cancel", str(sweep_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = c.sicctl("retry", str(sweep_id), "--failed")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(r.stderr.strip(), "sicctl: sweep %d is canceled; its failed trials cannot be retried "
                                           "(submit the spec again)" % sweep_id)
        self.assertEqual(c.query("SELECT status, round FROM trials WHERE sweep_id = ?", sweep_id), [("failed", 1)])

    def test_poison_results_become_dead_letters_while_other_results_flow(self):
        c = self.cluster()
        poisoned = c.submit(spec("poisoned", steps=20, seeds=1))
        self.wait_status(c, poisoned, ("queued",))
        trial = c.query("SELECT id FROM trials WHERE sweep_id = ?", poisoned)[0][0]
        # Garbage, and an event of no known kind about a real trial, ahead of
        # every real result.
        c.redis_command("XADD", "sic:results", "*", "p", b"\xffgarbage")
        c.redis_command("XADD", "sic:results", "*", "p", event_without_kind(trial))
        c.start_worker("a")
        c.start_worker("b")
        other = c.submit(spec("other", steps=20, seeds=4))
        for sweep_id, n in ((poisoned, 1), (other, 4)):
            trials = c.wait_done(sweep_id, timeout=180)
            self.assertEqual([t["status"] for t in trials], ["succeeded"] * n)
        letters = c.query("SELECT trial_id, sweep_id, error, payload_bytes FROM dead_letters ORDER BY id")
        self.assertEqual(len(letters), 2, letters)
        self.assertEqual(letters[0][:2], (None, None))
        self.assertIn("not a WorkerEvent", letters[0][2])
        self.assertEqual(letters[1][:2], (trial, poisoned))
        self.assertIn("unknown kind", letters[1][2])
        # Nothing is left unacknowledged in the results stream.
        self.assertEqual(c.redis_command("XLEN", "sic:results"), 0)
        # Shown by sicctl show and by the REST API.
        shown = c.sicctl("show", str(poisoned))
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("1 result could not be recorded: ", shown.stdout)
        self.assertIn("unknown kind", shown.stdout)
        self.assertNotIn("could not be recorded", c.sicctl("show", str(other)).stdout)
        with urllib.request.urlopen(c.http_url + "/api/v1/sweeps/%d" % poisoned, timeout=30) as r:
            body = json.load(r)
        self.assertEqual(body["dead_letters"]["count"], 1)
        self.assertIn("unknown kind", body["dead_letters"]["latest"][0]["error"])

    def test_a_job_enqueued_again_after_redis_lost_its_data_is_a_new_attempt(self):
        # Events sent by hand, as a worker would: delivery 1 of the first job
        # fails, Redis loses everything, and delivery 1 of the job enqueued
        # again succeeds. Before tickets that was the same attempt (trial,
        # round, delivery), the success was taken for a duplicate and the
        # trial stayed unfinished forever.
        c = self.cluster(aof=False)
        sweep_id = c.submit(spec("wiped", steps=20, seeds=1))
        self.wait_status(c, sweep_id, ("queued",))
        trial, first = c.query("SELECT id, ticket FROM trials WHERE sweep_id = ?", sweep_id)[0]
        error = header(trial=trial, ticket=first, delivery=1) + blob(8, blob(1, "lost the GPU") + f64(2, time.time()))
        c.redis_command("XADD", "sic:results", "*", "p", error)
        deadline = time.time() + 60
        while time.time() < deadline and not c.query("SELECT 1 FROM attempts WHERE trial_id = ?", trial):
            time.sleep(0.2)
        c.kill_redis()
        c.wipe_redis_data()
        c.start_redis()
        deadline = time.time() + 60
        second = first
        while time.time() < deadline:
            status, second = c.query("SELECT status, ticket FROM trials WHERE id = ?", trial)[0]
            if status == "queued" and second != first:
                break
            time.sleep(0.2)
        self.assertNotEqual(second, first)
        ok = header(trial=trial, ticket=second, delivery=1) + blob(7, outcome(metrics={"loss.total": 0.5, "steps": 20}))
        c.redis_command("XADD", "sic:results", "*", "p", ok)
        trials = c.wait_done(sweep_id, timeout=60)
        self.assertEqual(trials[0]["status"], "succeeded")
        self.assertEqual(c.query("SELECT ticket, delivery, outcome FROM attempts WHERE trial_id = ? ORDER BY ticket",
                                 trial), [(first, 1, "error"), (second, 1, "succeeded")])

    def test_reconciler_enqueues_again_what_redis_lost(self):
        # --dispatch-ahead 3: with no worker, all three trials are fed (and then lost).
        c = self.cluster(coordinator_args=["--reconcile-s", "1", "--dispatch-ahead", "3"])
        sweep_id = c.submit(spec("lost", steps=20, seeds=3))
        self.wait_status(c, sweep_id, ("queued",))
        tickets = dict(c.query("SELECT id, ticket FROM trials WHERE sweep_id = ?", sweep_id))
        # The stream loses its entries but keeps its group (a trimmed stream,
        # an old snapshot): nothing tells the coordinator but the reconciler.
        c.redis_command("XTRIM", "sic:trials:cpu", "MAXLEN", "0")
        c.start_worker("a")
        trials = c.wait_done(sweep_id, timeout=180)
        self.assertEqual([t["status"] for t in trials], ["succeeded"] * 3)
        self.assertIn("had no job in redis", c.log("coordinator"))
        # Enqueued again with new tickets; one outcome each.
        for trial_id, ticket in c.query("SELECT id, ticket FROM trials WHERE sweep_id = ?", sweep_id):
            self.assertGreater(ticket, tickets[trial_id])
        self.assertEqual(c.query("SELECT COUNT(*) FROM attempts a JOIN trials t ON t.id = a.trial_id "
                                 "WHERE t.sweep_id = ? AND a.outcome = 'succeeded'", sweep_id)[0][0], 3)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    ClusterTestCase.BIN = BIN
    unittest.main(verbosity=2)
