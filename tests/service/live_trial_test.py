"""A trial watched while it trains, with real processes (issue 14): a trial
with evaluations during training (probe.every), its worker killed (kill -9)
after some of them, and another worker resuming it from the checkpoint.
  - each evaluation is stored once per step, across the kill and the resume
    (the resumed run evaluates some steps again);
  - while it runs, REST shows its evaluations and the latest one's pictures,
    captioned with their step, and `sicctl watch` prints its latest losses and
    evaluation;
  - at the end the final evaluation's pictures replace the probe's.

usage: live_trial_test.py BUILD_DIR [unittest args]"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402

STEPS, EVERY = 600, 40
SPEC = {
    "name": "live",
    "base": {
        "model": {"n_units": 16, "mlp_hidden": 32},
        "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"lr": 1e-3, "steps": STEPS, "plateau": {"interval": 50}},
        "run": {"threads": 1, "checkpoint_every": 20, "log_every": 10},
        "eval": {"arenas": "2", "bin_size": 0.1, "trajectories": 20, "steps": 50},
        "probe": {"every": EVERY, "trajectories": 10, "steps": 30},
    },
    "seeds": 1,
}


class LiveTrialTest(ClusterTestCase):
    def get(self, c, path):
        with urllib.request.urlopen(c.http_url + path, timeout=30) as r:
            body = r.read()
            return json.loads(body) if r.headers.get("Content-Type", "").startswith("application/json") else body

    def test_evaluations_once_per_step_across_a_kill_pictures_and_watch_while_it_trains(self):
        c = self.cluster()
        sweep = c.submit(SPEC)
        (trial,) = [t for (t,) in c.query("SELECT id FROM trials WHERE sweep_id = ?", sweep)]
        env = dict(os.environ, SIC_COORDINATOR=c.address, SIC_TOKEN=c.token)
        watch = subprocess.Popen([os.path.join(c.bin, "sicctl", "sicctl"), "watch", str(sweep)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(watch.kill)
        lines = []  # the watch's output so far
        reader = threading.Thread(target=lambda: lines.extend(iter(watch.stdout.readline, "")), daemon=True)
        reader.start()
        full = re.compile(r"^  trial %d .*step \d+/%d  loss -?[\d.e-]+ \(sep .* coniso .*\)  eval@\d+ 2m: \d+ grid, "
                          r"\d+ band, \d+ square, \d+ oblique, \d+ silent of 16; \d+ module\(s\)( \(\d+ may be a harmonic\))?"
                          r"(, largest [\d.]+ m \(tiling ([\d.]+|nan)\))?(, period ratio [\d.]+)?; max score "
                          % (trial, STEPS))
        c.start_worker("a")

        def evaluated():
            return [s for (s,) in c.query("SELECT DISTINCT step FROM evals WHERE trial_id = ? ORDER BY step", trial)]
        steps = self.wait_for("two evaluations", lambda: (lambda s: s if len(s) >= 2 else None)(evaluated()),
                              every=0.02)
        # Frozen at once (SIGSTOP), so it is still running while it is looked at
        # and when it is killed: the whole trial takes about a second, and under
        # load (ctest -j2) it once finished before the kill.
        c.workers["a"].send_signal(signal.SIGSTOP)

        # While it runs: the latest evaluation's pictures, with its step.
        info = self.get(c, "/api/v1/trials/%d" % trial)
        self.assertEqual(info["status"], "running")
        pictures = {a["name"]: a for a in info["artifacts"]}
        self.assertIn("arena_2m/ratemaps.png", pictures)
        self.assertIn("arena_2m/autocorrelograms.png", pictures)
        self.assertIn(pictures["arena_2m/ratemaps.png"]["step"], range(EVERY, STEPS, EVERY))
        png = self.get(c, pictures["arena_2m/ratemaps.png"]["url"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        evals = self.get(c, "/api/v1/trials/%d/evals" % trial)
        self.assertGreaterEqual(len(evals["evals"]), len(steps))
        self.assertIn("eval.2m.max_score60", evals["evals"][0]["metrics"])
        # sicctl watch prints the running trial's latest losses and evaluation.
        # It redraws when its stream speaks (a change, or a keep-alive every
        # 5 s), so the frozen trial waits for it: on an idle machine the
        # resumed trial once finished 2 s after its start, before any redraw.
        self.wait_for("sicctl watch to show the trial's losses and evaluation",
                      lambda: any(full.search(line) for line in list(lines)), every=0.1)

        # Killed after some evaluations (SIGKILL ends a stopped process too);
        # another worker resumes from the checkpoint.
        c.kill_worker("a")
        c.start_worker("b")
        trials = c.wait_done(sweep, timeout=240)
        self.assertEqual(trials[0]["status"], "succeeded", trials)
        self.assertEqual(c.query("SELECT COUNT(DISTINCT delivery) FROM attempts WHERE trial_id = ?", trial)[0][0], 2,
                         "the kill cost a delivery")

        # Every step before the last evaluated once; the last has the final evaluation.
        self.assertEqual(evaluated(), list(range(EVERY, STEPS, EVERY)))
        per_step = c.query("SELECT step, COUNT(*) FROM evals WHERE trial_id = ? AND name = 'eval.2m.max_score60' "
                           "GROUP BY step", trial)
        self.assertTrue(all(n == 1 for _, n in per_step), per_step)
        evals = self.get(c, "/api/v1/trials/%d/evals" % trial)
        self.assertEqual([e["step"] for e in evals["evals"]], list(range(EVERY, STEPS, EVERY)))

        # The final evaluation's pictures replaced the probe's.
        info = self.get(c, "/api/v1/trials/%d" % trial)
        pictures = {a["name"]: a for a in info["artifacts"]}
        self.assertIn("arena_2m/ratemaps.png", pictures)
        self.assertTrue(all(a["step"] is None for a in info["artifacts"]), info["artifacts"])

        # sicctl watch follows the sweep to its end.
        self.assertEqual(watch.wait(timeout=60), 0, "".join(lines))


if __name__ == "__main__":
    ClusterTestCase.BIN = sys.argv.pop(1)
    unittest.main()
