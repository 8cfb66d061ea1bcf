"""A 20,000-trial sweep with 38 metrics per trial (written straight into a
store file by bench_rest_load through the real Store) is shown and exported
completely by sicctl: pages and streams, never one message past gRPC's 4 MB
receive limit.

usage: big_export_test.py BUILD_DIR"""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BIN = None
TRIALS = 20000


class BigExportTest(unittest.TestCase):
    def test_big_sweep_exports_and_shows_every_trial(self):
        work = tempfile.mkdtemp(prefix="sic-big-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", work]))
        db = os.path.join(work, "big.db")
        seed = subprocess.run([os.path.join(BIN, "bench", "bench_rest_load"), "seed", db, "--trials", str(TRIALS),
                               "--pending", "0", "--curve-points", "2"], capture_output=True, text=True, timeout=400)
        self.assertEqual(seed.returncode, 0, seed.stderr)
        sweep_id = seed.stdout.strip().splitlines()[-1]
        c = Cluster(BIN, db_path=db)
        self.addCleanup(c.close)

        r = c.sicctl("export", sweep_id, "--format", "csv", timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(r.stdout), 4 << 20)  # more than one gRPC message may carry
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual(len(rows), TRIALS)
        self.assertEqual(sorted(int(row["index"]) for row in rows), list(range(TRIALS)))
        self.assertTrue(all(row["eval.2m.max_score60"] != "" for row in rows))

        r = c.sicctl("export", sweep_id, "--format", "json", timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = json.loads(r.stdout)
        self.assertEqual(len(exported), TRIALS)
        self.assertTrue(all(len(t["metrics"]) == 38 for t in exported), exported[0])

        r = c.sicctl("--format", "json", "show", sweep_id, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = json.loads(r.stdout)
        self.assertEqual(sorted(int(t["index"]) for t in shown), list(range(TRIALS)))
        r = c.sicctl("show", sweep_id, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%d/%d done" % (TRIALS, TRIALS), r.stdout)
        self.assertGreaterEqual(len(r.stdout.splitlines()), TRIALS + 2)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
