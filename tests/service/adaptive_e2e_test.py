"""End-to-end tests of adaptive sweeps with real processes (redis-server,
sic-coordinator, sic-workers, sicctl): an ASHA sweep whose trials pause at
rungs and are promoted from their checkpoints, with kill -9 of a worker while
trials pause and while a promoted trial resumes, and of the coordinator in
between; and an external search driven by sicctl ask / tell.

usage: adaptive_e2e_test.py BUILD_DIR [unittest args]"""

import json
import math
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402

# A network small enough that one step takes milliseconds on one core.
TINY = {
    "model": {"n_units": 16, "mlp_hidden": 32},
    "data": {"batch_size": 8, "seq_len": 10},
    "optim": {"lr": 1e-3, "steps": 90, "plateau": {"interval": 20}},
    "run": {"checkpoint_every": 10, "log_every": 5},
    "eval": {"enabled": False},
}
LRS = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 3e-2]

# 9 configurations, rungs at 10, 30 and 90 steps, eta 3. min_trials = 9 makes
# the promotions independent of the order in which trials report: rung 0 is
# judged once all 9 are in (its top 3 go on), and rung 1's 3 never reach 9,
# so its best goes on by the end-of-sweep rule. So a run with kills must end
# exactly as a run without.
ASHA = {
    "name": "asha",
    "base": TINY,
    "grid": {"optim.lr": LRS},
    "objective": {"metric": "loss.total", "direction": "min"},
    "schedule": {"method": "asha", "min_steps": 10, "reduction_factor": 3, "min_trials": 9},
}


class AdaptiveTest(ClusterTestCase):
    def outcome(self, c, sweep_id):
        """What a run of the sweep decided and measured, by trial index."""
        trials = c.wait_done(sweep_id, timeout=400)
        statuses = {t["index"]: t["status"] for t in trials}
        rungs = {(idx, rung): (value, promoted is not None) for idx, rung, value, promoted in c.query(
            "SELECT t.idx, r.rung, r.value, r.promoted FROM rungs r JOIN trials t ON t.id = r.trial_id "
            "WHERE t.sweep_id = ?", sweep_id)}
        finals = dict(c.query("SELECT t.idx, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id "
                              "WHERE t.sweep_id = ? AND m.name = 'loss.total'", sweep_id))
        # Nothing doubled: one metrics row per (trial, name), one rung row per (trial, rung).
        self.assertEqual(c.query("SELECT COUNT(*) FROM (SELECT trial_id, name FROM metrics GROUP BY 1, 2 "
                                 "HAVING COUNT(*) > 1)")[0][0], 0)
        return statuses, rungs, finals

    def wait_for(self, c, sql, sweep_id, timeout=200):
        deadline = time.time() + timeout
        while time.time() < deadline:
            row = c.query(sql, sweep_id)
            if row and row[0][0]:
                return row[0][0]
            time.sleep(0.05)
        self.fail("never happened: %s\n%s" % (sql, c.sicctl("show", str(sweep_id)).stdout))

    def test_asha_survives_kills_while_pausing_and_promoting(self):
        # The run without faults.
        c = self.cluster()
        for w in ("w1", "w2"):
            c.start_worker(w)
        sweep = c.submit(ASHA)
        clean = self.outcome(c, sweep)
        c.close()
        statuses, rungs, finals = clean
        self.assertEqual(sorted(statuses.values()).count("succeeded"), 1)
        self.assertEqual(sorted(statuses.values()).count("stopped"), 8)
        self.assertEqual(sum(1 for (i, r) in rungs if r == 0), 9)
        self.assertEqual(sum(1 for (i, r) in rungs if r == 1), 3)
        self.assertEqual(sum(1 for v, promoted in rungs.values() if promoted), 4)
        # The one that reached the end is the best of rung 1.
        best = min((v, i) for (i, r), (v, p) in rungs.items() if r == 1)[1]
        self.assertEqual(statuses[best], "succeeded")
        # The same sweep with faults.
        c = self.cluster()
        if True:
            for w in ("w1", "w2"):
                c.start_worker(w)
            sweep = c.submit(ASHA)
            # kill -9 a worker as soon as a trial has paused (others are pausing now).
            self.wait_for(c, "SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'paused'", sweep)
            c.kill_worker("w1")
            c.start_worker("w1")
            # The coordinator too, while rung 0 fills.
            self.wait_for(c, "SELECT COUNT(*) >= 5 FROM rungs r JOIN trials t ON t.id = r.trial_id "
                             "WHERE t.sweep_id = ?", sweep)
            c.kill_coordinator()
            c.start_coordinator()
            # kill -9 both workers once a promoted trial runs again from its checkpoint.
            self.wait_for(c, "SELECT COUNT(*) FROM trials t JOIN rungs r ON r.trial_id = t.id "
                             "WHERE t.sweep_id = ? AND r.promoted IS NOT NULL AND t.status = 'running'", sweep)
            c.kill_worker("w1")
            c.kill_worker("w2")
            c.start_worker("w1")
            c.start_worker("w2")
            faulty = self.outcome(c, sweep)
            steps = c.query("SELECT SUM(steps_done) FROM trials WHERE sweep_id = ?", sweep)[0][0]
        self.assertEqual(faulty[0], statuses)
        self.assertEqual(faulty[1], rungs)
        self.assertEqual(faulty[2], finals)
        # ASHA trained 6*10 + 2*30 + 90 = 210 of the 810 steps the full sweep trains.
        self.assertEqual(steps, 6 * 10 + 2 * 30 + 90)

    def test_external_search_by_ask_and_tell(self):
        c = self.cluster()
        if True:
            sweep = c.submit({"name": "ext", "objective": {"metric": "value", "direction": "min"},
                              "search": {"method": "tpe", "trials": 14, "seed": 3, "external": True,
                                         "params": {"x": {"uniform": [-10, 10]}}}})
            told = []
            for n in range(14):
                r = c.sicctl("ask", str(sweep))
                self.assertEqual(r.returncode, 0, r.stderr)
                s = json.loads(r.stdout)
                self.assertEqual(s["number"], n)
                self.assertTrue(-10 <= s["params"]["x"] <= 10)
                if n == 4:  # a failed trial is ignored by the sampler
                    self.assertEqual(c.sicctl("tell", str(sweep), str(s["trial"]), "--failed").returncode, 0)
                    continue
                value = (s["params"]["x"] - 2) ** 2
                self.assertEqual(c.sicctl("tell", str(sweep), str(s["trial"]), repr(value)).returncode, 0)
                told.append((s["trial"], value))
            # All asked: the next ask, and a second tell, are refused by name.
            r = c.sicctl("ask", str(sweep))
            self.assertEqual(r.returncode, 1)
            self.assertIn("all 14 trials have been asked", r.stderr)
            r = c.sicctl("tell", str(sweep), str(told[0][0]), "1.0")
            self.assertEqual(r.returncode, 1)
            self.assertIn("succeeded", r.stderr)
            # Only with the token.
            self.assertNotEqual(c.sicctl("ask", str(sweep), token="wrong").returncode, 0)
            trials = c.wait_done(sweep, timeout=30)
            self.assertEqual(len(trials), 14)
            self.assertEqual(sum(t["status"] == "failed" for t in trials), 1)
            stored = dict(c.query("SELECT t.id, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id "
                                  "WHERE t.sweep_id = ? AND m.name = 'value'", sweep))
            for trial, value in told:
                self.assertTrue(math.isclose(stored[trial], value, rel_tol=1e-12))


if __name__ == "__main__":
    ClusterTestCase.BIN = sys.argv.pop(1)
    unittest.main()
