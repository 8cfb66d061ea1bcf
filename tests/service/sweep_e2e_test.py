"""End-to-end tests of the sweep service with real processes: redis-server
(AOF, password), sic-coordinator, sic-worker and sicctl. Faults are real:
kill -9 of a worker, of the coordinator and of Redis in the middle of a sweep.
After each, every trial must end in exactly one final state with exactly one
set of results in SQLite.

usage: sweep_e2e_test.py BUILD_DIR [unittest args]"""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase, free_port  # noqa: E402

BIN = None

# A network small enough that one step takes milliseconds on one core.
TINY = {
    "model": {"n_units": 16, "mlp_hidden": 32},
    "data": {"batch_size": 8, "seq_len": 10},
    "optim": {"lr": 1e-3, "steps": 40, "plateau": {"interval": 20}},
    "run": {"checkpoint_every": 10, "log_every": 5},
    "eval": {"enabled": False},
}


def spec(name, steps=40, seeds=2, ablations=None, **extra):
    base = json.loads(json.dumps(TINY))
    base["optim"]["steps"] = steps
    s = {"name": name, "base": base, "seeds": seeds}
    if ablations:
        s["ablations"] = ablations
    s.update(extra)
    return s


class ServiceTest(ClusterTestCase):
    def wait_until_running(self, c, sweep_id, min_step):
        """Waits (at most 2 min) until the sweep's first trial runs at or past min_step."""
        deadline = time.time() + 120
        while time.time() < deadline:
            trials = c.trials(sweep_id)
            if trials and trials[0]["status"] == "running" and int(trials[0]["step"].split("/")[0]) >= min_step:
                return
            time.sleep(0.1)
        self.fail("trial never ran: %s" % c.trials(sweep_id))

    def wait_any_running(self, c, sweep_id):
        """Waits (at most 2 min) until some trial of the sweep runs."""
        deadline = time.time() + 120
        while time.time() < deadline:
            trials = c.trials(sweep_id)
            if trials and any(t["status"] == "running" for t in trials):
                return
            time.sleep(0.1)
        self.fail("no trial ever ran: %s" % c.trials(sweep_id))

    def assert_exactly_once(self, c, sweep_id, n):
        rows = c.query("SELECT id, status FROM trials WHERE sweep_id = ?", sweep_id)
        self.assertEqual(len(rows), n)
        self.assertTrue(all(s == "succeeded" for _, s in rows), rows)
        ids = [i for i, _ in rows]
        # One final attempt recorded as the trial's outcome, one metrics set each.
        per_trial = dict(c.query("SELECT trial_id, COUNT(*) FROM metrics WHERE name = 'loss.total' "
                                 "GROUP BY trial_id"))
        self.assertEqual(sorted(per_trial), sorted(ids))
        self.assertTrue(all(v == 1 for v in per_trial.values()), per_trial)
        for trial_id in ids:
            steps = c.query("SELECT value FROM metrics WHERE trial_id = ? AND name = 'steps'", trial_id)
            self.assertEqual(len(steps), 1)
            curve = [s for (s,) in c.query("SELECT step FROM curves WHERE trial_id = ? ORDER BY step", trial_id)]
            self.assertEqual(curve[-1], steps[0][0])
            self.assertEqual(len(curve), len(set(curve)))

    def test_sweep_completes_with_one_result_per_trial(self):
        c = self.cluster()
        c.start_worker("a")
        c.start_worker("b")
        c.wait_workers(["a", "b"])  # both claiming before the work starts, or one may do it all
        path = os.path.join(c.dir, "s.json")
        with open(path, "w") as f:
            json.dump(spec("basic", ablations={"no_cap": {"loss.lambda_cap": 0}}), f)
        r = c.sicctl("sweep", path, "--watch")
        self.assertEqual(r.returncode, 0, r.stderr)
        sweep_id = int(r.stdout.split()[1].rstrip(":"))
        self.assertIn("4/4 done (4 ok, 0 failed, 0 canceled)", r.stdout)
        self.assert_exactly_once(c, sweep_id, 4)
        # Both workers took part, and both are listed.
        workers = {w for (w,) in c.query("SELECT DISTINCT worker FROM trials")}
        self.assertEqual(workers, {"a", "b"})
        listed = json.loads(c.sicctl("--format", "json", "workers").stdout)
        self.assertEqual(sorted(w["worker"] for w in listed), ["a", "b"])
        # Export: a row per trial with its overrides and metrics.
        csv = c.sicctl("export", str(sweep_id), "--format", "csv").stdout.strip().splitlines()
        self.assertEqual(len(csv), 5)
        self.assertIn("loss.lambda_cap", csv[0])
        self.assertIn("loss.total", csv[0])
        exported = json.loads(c.sicctl("export", str(sweep_id), "--format", "json").stdout)
        self.assertEqual([t["status"] for t in exported], ["succeeded"] * 4)
        self.assertEqual(exported[2]["overrides"], {"loss.lambda_cap": 0, "run.seed": 0})
        # The global --format reaches the export too (it printed CSV).
        self.assertEqual(json.loads(c.sicctl("--format", "json", "export", str(sweep_id)).stdout), exported)
        self.assertEqual(c.sicctl("export", str(sweep_id)).stdout.strip().splitlines(), csv)
        table = c.sicctl("show", str(sweep_id))
        self.assertEqual(table.returncode, 0)
        self.assertIn("no_cap/seed=1", table.stdout)
        self.assertIn("40/40", table.stdout)

    def test_killed_worker_is_taken_over_and_resumes_from_checkpoint(self):
        c = self.cluster(lease_ms=2000, worker_timeout_s=3)
        c.start_worker("a")
        sweep_id = c.submit(spec("takeover", steps=3000, seeds=1))
        # Wait until a has checkpointed a few times, then kill it mid-trial.
        self.wait_until_running(c, sweep_id, min_step=100)
        c.kill_worker("a")
        c.start_worker("b")
        trials = c.wait_done(sweep_id)
        self.assertEqual(trials[0]["status"], "succeeded")
        self.assert_exactly_once(c, sweep_id, 1)
        (trial_id,) = [i for (i,) in c.query("SELECT id FROM trials WHERE sweep_id = ?", sweep_id)]
        attempts = c.query("SELECT delivery, worker, outcome FROM attempts WHERE trial_id = ? ORDER BY delivery",
                           trial_id)
        self.assertEqual(attempts[0][:2], (1, "a"))
        self.assertIsNone(attempts[0][2])  # a died without a result
        self.assertEqual(attempts[-1][1:], ("b", "succeeded"))
        resumed = c.query("SELECT value FROM metrics WHERE trial_id = ? AND name = 'resumed_from_step'", trial_id)
        self.assertGreaterEqual(resumed[0][0], 100)  # b picked up a's checkpoint
        # a never said goodbye; after the timeout it is no longer listed.
        time.sleep(3.5)
        listed = json.loads(c.sicctl("--format", "json", "workers").stdout)
        self.assertEqual([w["worker"] for w in listed], ["b"])

    def test_coordinator_killed_mid_sweep_then_restarted(self):
        c = self.cluster()
        c.start_worker("a")
        c.start_worker("b")
        sweep_id = c.submit(spec("coord", steps=150, seeds=3, ablations={"x": {"loss.lambda_inv": 0}}))
        deadline = time.time() + 120
        while time.time() < deadline:
            done = c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'succeeded'", sweep_id)[0][0]
            if done >= 1:
                break
            time.sleep(0.1)
        c.kill_coordinator()
        time.sleep(1.5)  # workers go on; results wait in Redis
        c.start_coordinator()
        r = c.sicctl("watch", str(sweep_id), timeout=240)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_exactly_once(c, sweep_id, 6)

    def test_redis_killed_and_restarted_with_aof(self):
        c = self.cluster()
        c.start_worker("a")
        c.start_worker("b")
        sweep_id = c.submit(spec("aof", steps=150, seeds=4))
        self.wait_any_running(c, sweep_id)
        c.kill_redis()
        # While Redis is down, calls that need it say so in one line; the rest work.
        r = c.sicctl("workers")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "sicctl: redis at 127.0.0.1:%d: Connection refused\n" % c.redis_port)
        self.assertEqual(c.sicctl("list").returncode, 0)
        time.sleep(1.0)
        c.start_redis()
        trials = c.wait_done(sweep_id, timeout=240)
        self.assertEqual([t["status"] for t in trials], ["succeeded"] * 4)
        self.assert_exactly_once(c, sweep_id, 4)

    def test_redis_restarted_empty_requeues_unfinished_trials(self):
        # Without AOF a restarted Redis has lost every queued job and claim.
        c = self.cluster(aof=False, lease_ms=2000)
        c.start_worker("a")
        c.start_worker("b")
        sweep_id = c.submit(spec("empty", steps=150, seeds=4))
        self.wait_any_running(c, sweep_id)
        c.kill_redis()
        time.sleep(1.0)
        c.start_redis()
        trials = c.wait_done(sweep_id, timeout=240)
        self.assertEqual([t["status"] for t in trials], ["succeeded"] * 4)
        self.assert_exactly_once(c, sweep_id, 4)
        self.assertIn("unfinished trials again", c.log("coordinator"))

    def test_bad_specs_are_refused_and_store_nothing(self):
        c = self.cluster(max_trials=50)
        cases = [
            ('{"base": ', "malformed JSON"),
            ('{"bogus": 1}', "bogus: unknown key"),
            ('{"base": {"optim": {"steps": "many"}}}', "base: optim.steps: must be an integer"),
            ('{"ablations": {"neg": {"loss.lambda_sep": -1}}}', "ablations.neg: loss.lambda_sep: -1 is out of range"),
            ('{"grid": {"loss.lambda_cap": []}}', "grid.loss.lambda_cap: must be a non-empty list"),
            ('{"seeds": 51}', "seeds: a count must be in [1, 50]"),
            ('{"seeds": 10, "grid": {"loss.lambda_cap": [0, 1, 2, 3, 4, 5]}}', "more than 50 trials"),
        ]
        for text, message in cases:
            path = os.path.join(c.dir, "bad.json")
            with open(path, "w") as f:
                f.write(text)
            r = c.sicctl("sweep", path)
            self.assertEqual(r.returncode, 1, text)
            self.assertEqual(r.stdout, "")
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertTrue(r.stderr.startswith("sicctl: " + path + ": "), r.stderr)
            self.assertIn(message, r.stderr)
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], 0)
        self.assertEqual(c.query("SELECT COUNT(*) FROM trials")[0][0], 0)

    def test_wrong_token_is_refused_even_for_a_dry_run(self):
        c = self.cluster()
        path = os.path.join(c.dir, "s.json")
        with open(path, "w") as f:
            json.dump(spec("tok", seeds=3), f)
        for token in ("", "wrong"):
            r = c.sicctl("sweep", path, token=token)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.strip(), "sicctl: missing or wrong token (set SIC_TOKEN or --token)")
            r = c.sicctl("cancel", "1", token=token)
            self.assertEqual(r.returncode, 1)
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], 0)
        # A dry run expands the spec (CPU): with a token set, it needs it too.
        for token in ("", "wrong"):
            dry = c.sicctl("sweep", path, "--dry-run", token=token)
            self.assertEqual(dry.returncode, 1)
            self.assertEqual(dry.stderr.strip(), "sicctl: missing or wrong token (set SIC_TOKEN or --token)")
        dry = c.sicctl("sweep", path, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertEqual(dry.stdout.splitlines(), ["0 baseline/seed=0", "1 baseline/seed=1", "2 baseline/seed=2"])
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], 0)

    def test_failing_trial_stops_at_the_delivery_limit_and_can_be_retried(self):
        c = self.cluster(max_deliveries=2)
        # A checkpoint folder that is a file fails every attempt the same way.
        # (A device this machine lacks no longer does: the worker, not the
        # config, chooses the device, and a cuda trial waits for a cuda worker.)
        open(os.path.join(c.dir, "checkpoints"), "w").close()
        c.start_worker("a")
        s = spec("fails", seeds=1)
        sweep_id = c.submit(s)
        trials = c.wait_done(sweep_id, timeout=120)
        self.assertEqual(trials[0]["status"], "failed")
        self.assertIn("delivered 3 times (limit 2); last error: ", trials[0]["error"])
        self.assertIn("Not a directory", trials[0]["error"])
        # Each failed delivery shows its own error; the last one made the trial final.
        attempts = c.query("SELECT delivery, outcome, error FROM attempts WHERE trial_id = "
                           "(SELECT id FROM trials WHERE sweep_id = ?) ORDER BY delivery", sweep_id)
        self.assertEqual([(d, o) for d, o, _ in attempts], [(1, "error"), (2, "error"), (3, "failed")])
        self.assertTrue(all("Not a directory" in e for _, _, e in attempts), attempts)
        r = c.sicctl("watch", str(sweep_id))
        self.assertEqual(r.returncode, 3)
        self.assertIn("ended with 1 failed", r.stderr)
        r = c.sicctl("retry", str(sweep_id), "--failed")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1 trials queued again", r.stdout)
        trials = c.wait_done(sweep_id, timeout=120)
        self.assertEqual(trials[0]["status"], "failed")
        self.assertEqual(c.query("SELECT round FROM trials WHERE sweep_id = ?", sweep_id)[0][0], 2)

    def test_cancel_stops_the_sweep(self):
        c = self.cluster()
        c.start_worker("a")
        sweep_id = c.submit(spec("cancel", steps=100000, seeds=3))
        deadline = time.time() + 60
        while time.time() < deadline:
            trials = c.trials(sweep_id)
            if trials and trials[0]["status"] == "running":
                break
            time.sleep(0.1)
        r = c.sicctl("cancel", str(sweep_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 trials canceled", r.stdout)
        self.assertEqual({t["status"] for t in c.trials(sweep_id)}, {"canceled"})
        # The worker stops the running trial and is free for other work.
        other = c.submit(spec("after", steps=20, seeds=1))
        trials = c.wait_done(other, timeout=60)
        self.assertEqual(trials[0]["status"], "succeeded")

    def test_sigterm_checkpoints_and_releases_at_once(self):
        # A lease far longer than the test: only an explicit release lets b take over in time.
        c = self.cluster(lease_ms=600000)
        c.start_worker("a")
        sweep_id = c.submit(spec("sigterm", steps=1500, seeds=1))
        self.wait_until_running(c, sweep_id, min_step=100)
        t0 = time.time()
        self.assertEqual(c.kill_worker("a", signal.SIGTERM), 0)
        self.assertLess(time.time() - t0, 10)
        self.assertIn("checkpoint kept and trial released", c.log("worker-a"))
        c.start_worker("b")
        trials = c.wait_done(sweep_id, timeout=120)
        self.assertEqual(trials[0]["status"], "succeeded")
        self.assert_exactly_once(c, sweep_id, 1)
        (trial_id,) = [i for (i,) in c.query("SELECT id FROM trials WHERE sweep_id = ?", sweep_id)]
        resumed = c.query("SELECT value FROM metrics WHERE trial_id = ? AND name = 'resumed_from_step'", trial_id)
        self.assertGreaterEqual(resumed[0][0], 100)
        self.assertEqual(c.query("SELECT worker FROM trials WHERE id = ?", trial_id)[0][0], "b")

    def test_one_shot_and_concurrency(self):
        c = self.cluster()
        sweep_id = c.submit(spec("slots", steps=60, seeds=5))
        one = c.start_worker("a", "--one-shot")
        self.assertEqual(one.wait(timeout=120), 0)
        c.workers.pop("a")
        done = c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'succeeded'", sweep_id)[0][0]
        self.assertEqual(done, 1)
        c.start_worker("b", "--concurrency", "2")
        c.wait_done(sweep_id, timeout=120)
        self.assert_exactly_once(c, sweep_id, 5)
        listed = json.loads(c.sicctl("--format", "json", "workers").stdout)
        self.assertEqual([(w["worker"], w["slots"]) for w in listed], [("b", 2)])

    def test_unreachable_coordinator_is_one_line(self):
        env_port = free_port()
        import subprocess
        r = subprocess.run([os.path.join(BIN, "sicctl", "sicctl"), "--coordinator", "127.0.0.1:%d" % env_port,
                            "list"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(),
                         "sicctl: cannot reach the coordinator at 127.0.0.1:%d (is sic-coordinator running? "
                         "set --coordinator or SIC_COORDINATOR)" % env_port)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    ClusterTestCase.BIN = BIN
    unittest.main(verbosity=2)
