#!/usr/bin/python3
"""tools/science/coniso_lattices.py: the conformal-isometry term on ideal lattice
codes (docs/science-cpu.md, "Why the longer cut"). The anisotropies it reports
follow from the lattices' symmetry: none for the hexagon, little for the square
(isotropic to second order), much for an oblique lattice and for bands."""
import contextlib
import io
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "science"))
import coniso_lattices as cl  # noqa: E402

LENGTHS = [0.05, 0.15]


class ConisoLatticesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.x = np.random.default_rng(3).uniform(-1, 1, (600, 2))

    def aniso(self, kind):
        return cl.anisotropy(kind, 0.92, 8, 0.0, self.x, LENGTHS, directions=36)

    def test_phases_tile_the_unit_cell(self):
        for kind in ("hexagonal", "square"):
            k = cl.wavevectors(kind, 0.92)
            f = (cl.phases(kind, 0.92, 4) @ k[:2].T) / (2 * np.pi)  # fractions along the two wavevectors
            self.assertEqual(sorted(set(np.round(f[:, 0] % 1, 6))), [0.125, 0.375, 0.625, 0.875], kind)

    def test_symmetry_sets_the_anisotropy(self):
        hexagonal, square, oblique, band = (self.aniso(k) for k in ("hexagonal", "square", "oblique", "band"))
        for a in hexagonal:
            self.assertLess(a, 0.003)
        for a in square:
            self.assertLess(a, 0.01)
        for a in oblique:
            self.assertTrue(0.08 < a < 0.16, a)
        for a in band:
            self.assertGreater(a, 0.4)

    def test_the_term_ranks_bands_far_above_lattices(self):
        rng = np.random.default_rng(4)
        v = rng.uniform(-0.15, 0.15, (6000, 2))
        x = rng.uniform(-1, 1, (6000, 2))
        hexagonal = cl.term("hexagonal", 0.92, 8, 0.0, x, v, [0.1])[0]
        band = cl.term("band", 0.92, 8, 0.0, x, v, [0.1])[0]
        self.assertGreater(band, 20 * hexagonal)

    def test_bad_arguments_are_one_line_errors_before_any_work(self):
        for args, says in ((["--side", "-3"], "--side: -3 is outside [2, 32]"),
                           (["--side", "100000"], "--side: 100000 is outside [2, 32]"),
                           (["--positions", "1e99"], "--positions: '1e99' is not a number"),
                           (["--positions", "99999999999"], "outside [10, 100000]"),
                           (["--period", "nan"], "--period: nan is outside"),
                           (["--period", "-1"], "--period: -1 is outside"),
                           (["--v-max", "inf"], "--v-max: inf is outside"),
                           (["--seed", "-1"], "--seed: -1 is outside")):
            err = io.StringIO()
            with self.assertRaises(SystemExit) as exit, contextlib.redirect_stderr(err), \
                    contextlib.redirect_stdout(io.StringIO()) as out:
                cl.main(args)
            self.assertEqual(exit.exception.code, 2, args)
            self.assertIn(says, err.getvalue().strip().splitlines()[-1], args)
            self.assertEqual(out.getvalue(), "", args)


if __name__ == "__main__":
    unittest.main()
