#!/usr/bin/python3
"""End-to-end checks of `sic analyze` as a user runs it.

usage: analyze_cli_test.py PATH/TO/sic PROJECT_DIR

Rate maps with a known truth (three hexagonal modules, noise, a blob) go in as
.npy; the JSON must follow the schema of issue 3 and find the modules, and the
grid scores must equal the NumPy/SciPy reference (tests/reference/
grid_scores_ref.py, DeepMind scores.py restated) in both NaN conventions.
Malformed input must give one line on stderr and a non-zero exit.
"""
import json
import os
import sys

import numpy as np

from cli_support import ROOT, TempDirTest, main, run  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import grid_scores_ref as ref  # noqa: E402


def population(n=50, per_module=6, seed=0):
    """Three modules with periods p, 1.4p, 1.96p (bins), then noise, a blob."""
    rng = np.random.default_rng(seed)
    maps, truth = [], []
    for k, (period, orientation) in enumerate([(7.0, 8.0), (9.8, 25.0), (13.72, 47.0)]):
        for _ in range(per_module):
            m = ref.hex_lattice(n, period * (1 + rng.uniform(-0.01, 0.01)), orientation + rng.uniform(-0.5, 0.5),
                                rng.uniform(0, 20, 2))
            maps.append(np.maximum(m, 0))  # firing rates are non-negative
            truth.append(k)
    for _ in range(3):
        maps.append(rng.random((n, n)))
        truth.append(-1)
    y, x = np.mgrid[0:n, 0:n]
    maps.append(np.exp(-((x - 20) ** 2 + (y - 30) ** 2) / 60.0))
    truth.append(-1)
    maps = np.array(maps)
    holes = rng.random(maps.shape) < 0.05  # unvisited bins
    maps[holes] = np.nan
    return maps, truth


class Analyze(TempDirTest):
    def test_json_schema_and_modules(self):
        maps, truth = population()
        path = self.save("maps.npy", maps.astype(np.float32))
        out = json.loads(run("analyze", path, "--arena-size", "2", "--json").stdout)
        self.assertEqual(set(out) >= {"units", "modules", "n_modules", "fraction_grid"}, True, out.keys())
        self.assertEqual(set(out["fraction_grid"]), {"0.3", "0.8", "1.15"})
        self.assertEqual(len(out["units"]), len(maps))
        for i, unit in enumerate(out["units"]):
            for key in ["index", "score60", "score60_mean", "score90", "period_m", "orientation_deg", "module"]:
                self.assertIn(key, unit)
            self.assertEqual(unit["index"], i)
            self.assertEqual(unit["module"], truth[i], f"unit {i}: {unit}")
        self.assertEqual(out["n_modules"], 3)
        self.assertEqual(len(out["modules"]), 3)
        bin_m = 2.0 / 50
        for k, module in enumerate(out["modules"]):
            for key in ["id", "period_m", "orientation_deg", "units"]:
                self.assertIn(key, module)
            expected = 7.0 * 1.4 ** k * bin_m
            self.assertAlmostEqual(module["period_m"], expected, delta=0.03 * expected)
            self.assertEqual(module["units"], 6)
        self.assertAlmostEqual(out["fraction_grid"]["0.3"], 18 / len(maps))
        blob = out["units"][-1]
        self.assertEqual(blob["n_fields"], 1)
        self.assertFalse(blob["grid"])

    def test_scores_match_the_numpy_scipy_reference(self):
        maps, _ = population(n=32, per_module=1, seed=3)
        maps = np.concatenate([maps, np.random.default_rng(4).random((2, 32, 32)) + 2.0])
        path = self.save("maps64.npy", maps)  # float64 in, as the reference computes
        for flags, nan_as_zero in [([], False), (["--nan-as-zero"], True)]:
            out = json.loads(run("analyze", path, "--arena-size", "1.5", "--json", *flags).stdout)
            scorer = ref.Scorer(32, nan_as_zero=nan_as_zero)
            for unit, m in zip(out["units"], maps):
                s60, s60m, s90, mask = scorer.score(m)
                self.assertAlmostEqual(unit["score60"], s60, delta=1e-6, msg=flags)
                self.assertAlmostEqual(unit["score60_mean"], s60m, delta=1e-6, msg=flags)
                self.assertAlmostEqual(unit["score90"], s90, delta=1e-6, msg=flags)
                self.assertEqual(unit["mask60"], mask, flags)

    def test_table_and_single_map(self):
        maps, _ = population(per_module=3)
        out = run("analyze", self.save("maps.npy", maps.astype(np.float32)), "--arena-size", "2").stdout
        self.assertIn("score60", out.splitlines()[1])
        self.assertIn("modules: 3", out)
        one = json.loads(run("analyze", self.save("one.npy", maps[0]), "--arena-size", "2", "--json").stdout)
        self.assertEqual(len(one["units"]), 1)
        self.assertGreater(one["units"][0]["score60"], 1.0)

    def test_malformed_input_gets_one_line(self):
        good = self.save("good.npy", np.zeros((2, 10, 10), np.float32))
        text = os.path.join(self.dir, "text.npy")
        with open(text, "w") as f:
            f.write("hello\n")
        truncated = os.path.join(self.dir, "truncated.npy")
        with open(good, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read()[:-7])
        inf = np.zeros((1, 10, 10))
        inf[0, 3, 3] = np.inf
        cases = [
            ((os.path.join(self.dir, "missing.npy"), "--arena-size", "2"), "cannot open file"),
            ((text, "--arena-size", "2"), "text.npy"),
            ((truncated, "--arena-size", "2"), "truncated"),
            ((self.save("flat.npy", np.zeros(10)), "--arena-size", "2"), "is not (units, bins, bins)"),
            ((self.save("oblong.npy", np.zeros((2, 10, 12))), "--arena-size", "2"), "is not (units, bins, bins)"),
            ((self.save("tiny.npy", np.zeros((2, 3, 3))), "--arena-size", "2"), "at least 4 x 4"),
            ((self.save("int.npy", np.zeros((2, 10, 10), np.int32)), "--arena-size", "2"), "unsupported dtype"),
            ((self.save("inf.npy", inf), "--arena-size", "2"), "infinite"),
            ((good,), "--arena-size METRES is required"),
            ((good, "--arena-size", "-1"), "--arena-size"),
            ((good, "--arena-size", "abc"), "is not a number"),
            ((good, "--arena-size", "2", "--threshold", "9"), "eval.grid_threshold"),
            ((good, "--arena-size", "2", "--frobnicate"), "--frobnicate: unknown option"),
            (("--arena-size", "2"), "usage"),
        ]
        for args, expected in cases:
            proc = run("analyze", *args, check=False)
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(expected, proc.stderr, args)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertTrue(proc.stderr.startswith("sic analyze: "), proc.stderr)
            self.assertEqual(proc.stdout, "", args)


if __name__ == "__main__":
    main()
