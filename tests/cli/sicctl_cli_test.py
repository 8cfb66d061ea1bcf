#!/usr/bin/env python3
"""sicctl as a user runs it, against a real redis-server and sic-coordinator
(tests/service/cluster.py; no workers: nothing here needs a trial trained).

- The global --format applies to every verb: `sicctl --format json VERB ...`
  prints JSON that parses, and csv a header and rows, for sweep (and its dry
  run), list, show, export, cancel and retry.
- `sicctl show` of an adaptive sweep (rows written by
  tests/service/search_fixture.py) says each trial's state in words and the
  steps saved.

usage: sicctl_cli_test.py BUILD_DIR [unittest args]"""

import csv
import io
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "service"))
from cluster import Cluster  # noqa: E402
import search_fixture  # noqa: E402

BIN = None
SPEC = {
    "name": "formats",
    "base": {"model": {"n_units": 16, "mlp_hidden": 32}, "optim": {"steps": 20}},
    "grid": {"loss.lambda_cap": [0, 0.5]},
}


class SicctlCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN)
        cls.spec = os.path.join(cls.c.dir, "spec.json")
        with open(cls.spec, "w") as f:
            json.dump(SPEC, f)
        cls.sweep = cls.c.submit(SPEC)
        cls.fixture = search_fixture.create(cls.c.db_path)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def ok(self, *args):
        r = self.c.sicctl(*args)
        self.assertEqual(r.returncode, 0, "sicctl %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def test_global_format_json_applies_to_every_verb(self):
        s = str(self.sweep)
        # export: the global --format, and the verb's own --format over it.
        rows = json.loads(self.ok("--format", "json", "export", s))
        self.assertEqual([r["index"] for r in rows], [0, 1])
        text = self.ok("--format", "json", "export", s, "--format", "csv")
        self.assertTrue(text.startswith("trial_id,index,name,"), text[:200])
        self.assertRaises(ValueError, json.loads, text)
        dry = json.loads(self.ok("--format", "json", "sweep", self.spec, "--dry-run"))
        self.assertEqual([t["index"] for t in dry], [0, 1])
        submitted = json.loads(self.ok("--format", "json", "sweep", self.spec))
        self.assertEqual(submitted["trials"], 2)
        self.assertGreater(submitted["sweep"], self.sweep)
        listed = json.loads(self.ok("--format", "json", "list"))
        self.assertIn(self.sweep, [row["sweep"] for row in listed])
        shown = json.loads(self.ok("--format", "json", "show", s))
        self.assertEqual(len(shown), 2)
        self.assertTrue(all(t["status"] in ("pending", "queued") for t in shown), shown)
        canceled = json.loads(self.ok("--format", "json", "cancel", str(submitted["sweep"])))
        self.assertEqual(canceled, {"sweep": submitted["sweep"], "canceled": 2})
        retried = json.loads(self.ok("--format", "json", "retry", s, "--failed"))
        self.assertEqual(retried, {"sweep": self.sweep, "retried": 0})

    def test_csv_has_a_header_and_rows(self):
        rows = list(csv.reader(io.StringIO(self.ok("--format", "csv", "show", str(self.sweep)))))
        self.assertEqual(rows[0][:4], ["trial", "index", "name", "status"])
        self.assertEqual(len(rows), 3)
        dry = list(csv.reader(io.StringIO(self.ok("--format", "csv", "sweep", self.spec, "--dry-run"))))
        self.assertEqual(dry[0], ["index", "name"])
        self.assertEqual(len(dry), 3)

    def test_show_says_each_trials_state_and_the_steps_saved(self):
        f = self.fixture
        out = self.ok("show", str(f["sweep"]))
        lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0].isdigit()}
        t = f["trials"]
        self.assertIn("paused at rung 1 (300 steps)", lines[str(t["t2"])])
        self.assertIn("paused at rung 0 (100 steps)", lines[str(t["t7"])])
        self.assertIn("stopped early at rung 0 (100/900 steps)", lines[str(t["t1"])])
        self.assertIn("succeeded, promoted from rung 1", lines[str(t["t0"])])
        self.assertIn("waiting", lines[str(t["t5"])])
        e = f["expected"]
        self.assertIn("steps: %d trained of %d for every started configuration in full; %d saved (%d%%)"
                      % (e["trained"], e["full"], e["saved"], round(100 * e["saved"] / e["full"])), out)
        self.assertIn("2 stopped early", out.splitlines()[0])
        # json keeps `status` a status and gives the state and rung as fields.
        shown = {row["trial"]: row for row in json.loads(self.ok("--format", "json", "show", str(f["sweep"])))}
        self.assertEqual(shown[t["t2"]]["status"], "paused")
        self.assertEqual(shown[t["t2"]]["state"], "paused at rung 1 (300 steps)")
        self.assertEqual((shown[t["t2"]]["rung"], shown[t["t2"]]["steps_done"], shown[t["t2"]]["target_steps"]),
                         (1, 300, 300))
        self.assertIsNone(shown[t["t5"]]["rung"])
        # A plain sweep has no steps line.
        self.assertNotIn("steps:", self.ok("show", str(self.sweep)))


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:])
