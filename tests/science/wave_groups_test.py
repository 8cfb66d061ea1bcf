#!/usr/bin/python3
"""tools/science/wave_groups.py on synthetic rate maps analysed by the real `sic analyze`.

Usage: wave_groups_test.py SIC_BINARY
A population of a hexagonal module (each unit's strongest wave may be any of three), two
band families of different spacing and direction, and silent units must come out as three
groups with the right counts, spacings and directions; an older analysis without
wave_angle_deg is analysed again with --sic, and refused with one line without it.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "tools", "science", "wave_groups.py")
SIC = sys.argv.pop(1) if len(sys.argv) > 1 else None
BINS, ARENA = 50, 2.0
BIN = ARENA / BINS


def band(spacing_m, angle_deg, phase):
    i, j = np.mgrid[0:BINS, 0:BINS] * BIN  # rows are y, columns x
    a = math.radians(angle_deg)
    return 1 + np.cos(2 * math.pi / spacing_m * (math.cos(a) * j + math.sin(a) * i) + phase)


def hexagon(period_m, orientation_deg, phase):
    k = 4 * math.pi / (math.sqrt(3) * period_m)  # |k| of a hexagonal lattice of this period
    i, j = np.mgrid[0:BINS, 0:BINS] * BIN
    m = sum(np.cos(k * (math.cos(a) * (j - phase[0]) + math.sin(a) * (i - phase[1])))
            for a in (math.radians(orientation_deg + d) for d in (0, 60, 120)))
    return np.maximum(m, 0)


def population():
    rng = np.random.default_rng(3)
    maps = [hexagon(0.9, 10, rng.uniform(0, 0.9, 2)) for _ in range(6)]       # units 0-5
    maps += [band(1.0, 30, rng.uniform(0, 6.3)) for _ in range(4)]            # units 6-9
    maps += [band(0.5, 120, rng.uniform(0, 6.3)) for _ in range(3)]           # units 10-12
    maps += [np.zeros((BINS, BINS)) for _ in range(2)]                        # silent 13-14
    return np.stack(maps).astype(np.float32)


def analysed(arena, maps):
    """An arena directory holding `maps` and their scores.json from the real `sic analyze`."""
    os.makedirs(arena)
    np.save(os.path.join(arena, "ratemaps.npy"), maps)
    r = subprocess.run([SIC, "analyze", os.path.join(arena, "ratemaps.npy"), "--arena-size", "2", "--json"],
                       capture_output=True, text=True, check=True)
    with open(os.path.join(arena, "scores.json"), "w") as f:
        f.write(r.stdout)
    return arena


def run(*args):
    return subprocess.run(["/usr/bin/python3", TOOL, *args], capture_output=True, text=True)


class WaveGroups(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.arena = analysed(os.path.join(cls.tmp.name, "arena_2m"), population())

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def groups(self, arena, *extra):
        r = run(arena, "--json", *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def check(self, out):
        g = out["groups"]
        self.assertEqual([(x["pattern"], sorted(x["units"])) for x in g],
                         [("grid", [0, 1, 2, 3, 4, 5]), ("band", [6, 7, 8, 9]), ("band", [10, 11, 12])])
        hexagonal, wide, narrow = g
        self.assertAlmostEqual(hexagonal["spacing_m"], 0.9 * math.sqrt(3) / 2, delta=0.04)  # a wave, not the period
        self.assertAlmostEqual(math.fmod(hexagonal["angle_deg"] - 10 + 360, 60), 0, delta=3)
        self.assertAlmostEqual(wide["spacing_m"], 1.0, delta=0.05)
        self.assertAlmostEqual(wide["angle_deg"], 30, delta=3)
        self.assertAlmostEqual(narrow["spacing_m"], 0.5, delta=0.03)
        self.assertAlmostEqual(narrow["angle_deg"], 120, delta=3)
        self.assertEqual(len(out["modules"]), 1)
        self.assertEqual(out["modules"][0]["units"], 6)

    def test_groups_a_module_and_two_band_families_and_leaves_silent_units_out(self):
        self.check(self.groups(self.arena))
        text = run(self.arena)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("modules: 6 units at 0.9", text.stdout)
        self.assertRegex(text.stdout, r"band 4 x 1\.0\d m @ (29|30|31);")

    def test_a_module_on_the_lattices_harmonic_is_named_so(self):
        # The module plus 3 units at its period over sqrt(3), turned 30 degrees: the
        # triangle centres between its fields, which cluster as a module of their own.
        rng = np.random.default_rng(5)
        maps = [hexagon(0.9, 10, rng.uniform(0, 0.9, 2)) for _ in range(6)]
        maps += [hexagon(0.9 / math.sqrt(3), 40 + k, rng.uniform(0, 0.5, 2)) for k in range(3)]
        arena = analysed(os.path.join(self.tmp.name, "harmonic", "arena_2m"), np.stack(maps).astype(np.float32))
        out = self.groups(arena)
        self.assertEqual([(m["units"], m["harmonic_of"]) for m in out["modules"]], [(3, 1), (6, None)], out["modules"])
        text = run(arena)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("3 units at 0.52 m (may be a harmonic of module 1), 6 units at 0.9", text.stdout)

    def test_an_older_analysis_is_analysed_again_with_sic_and_refused_without(self):
        old = os.path.join(self.tmp.name, "old", "arena_2m")
        os.makedirs(old)
        os.link(os.path.join(self.arena, "ratemaps.npy"), os.path.join(old, "ratemaps.npy"))
        with open(os.path.join(self.arena, "scores.json")) as f:
            a = json.load(f)
        for u in a["units"]:
            del u["wave_angle_deg"]
        with open(os.path.join(old, "scores.json"), "w") as f:
            json.dump(a, f)
        r = run(old)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("--sic", r.stderr)
        self.check(self.groups(old, "--sic", SIC))

    def test_bad_input_is_one_line_before_any_work(self):
        for args in (["/nonexistent/arena_2m"], [self.arena, "--angle-tol", "nan"], [self.arena, "--angle-tol", "90"],
                     [self.arena, "--spacing-tol", "-1"], [self.arena, "--spacing-tol", "x"],
                     [self.arena, "--sic", "/nonexistent/sic"]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stdout, "", args)
            self.assertEqual(len([l for l in r.stderr.splitlines() if "error" in l or "wave_groups.py:" in l]), 1,
                             (args, r.stderr))
        bad = os.path.join(self.tmp.name, "bad")
        os.mkdir(bad)
        with open(os.path.join(bad, "scores.json"), "w") as f:
            f.write("{\"units\": [")
        r = run(bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not JSON", r.stderr)
        for units, what in (([{"pattern": "band"}], "integer \"index\""), ([7], "integer \"index\""),
                            ([{"index": 0, "wave_period_m": -1, "wave_angle_deg": 3}], "wave_period_m"),
                            ([{"index": 0, "wave_period_m": 1, "wave_angle_deg": "north"}], "wave_angle_deg"),
                            ({"units": [], "modules": [{"units": "6", "period_m": 0.9}]}, "module 0"),
                            ({"units": [], "modules": {"units": 6}}, "\"modules\" is not a list"),
                            ({"units": [], "modules": [{"units": 3, "period_m": 0.5, "harmonic_of": "x"}]},
                             "module 0: harmonic_of"),
                            ({"units": [], "modules": [{"units": 3, "period_m": 0.5, "harmonic_of": 7}]},
                             "module 0: harmonic_of")):
            with open(os.path.join(bad, "scores.json"), "w") as f:
                json.dump(units if isinstance(units, dict) else {"units": units}, f)
            r = run(bad)
            self.assertEqual((r.returncode, len(r.stderr.strip().splitlines())), (2, 1), (units, r.stderr))
            self.assertIn(what, r.stderr)


if __name__ == "__main__":
    if not SIC:
        sys.exit("usage: wave_groups_test.py SIC_BINARY")
    unittest.main()
