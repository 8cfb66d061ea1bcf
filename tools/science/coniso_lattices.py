#!/usr/bin/python3
"""The conformal-isometry term on ideal lattice codes, for each step cut.

The term (shared/sic-method.md 3.4) is the variance of ||g(x+v) - g(x)|| / ||v||
over training steps v shorter than a cut. docs/science-cpu.md ("Why the longer
cut") argues that over short steps a population tiling a square lattice's
phases has an isotropic local metric, as a hexagonal one does, so the method's
cut (sigma_x, 5 cm) cannot tell them apart, while over longer steps only the
hexagon stays isotropic. This measures that on ideal codes of one period:

  unit i, phase p_i (an n x n tiling of the unit cell):
      r_i(x) = ReLU(sum_j cos(k_j . (x - p_i)) - threshold),  g(x) = r(x) / ||r(x)||
  hexagonal: three k_j at 60 degrees, |k| = 4 pi / (sqrt(3) period);
  square: two at 90 degrees, |k| = 2 pi / period; oblique: two at 70 degrees;
  band: one k, |k| = 2 pi / period.

It prints two things per code:
  - the anisotropy at each step length l: over 72 directions, the spread (std
    over mean) of the ratio averaged over positions. A code whose metric is the
    same in every direction has none;
  - the term itself per cut: the variance of the ratio over the training's steps
    (uniform in [-v_max, v_max]^2) shorter than the cut, at uniform positions.

    /usr/bin/python3 tools/science/coniso_lattices.py [--period 0.92]
"""
import argparse

import numpy as np

from cli_args import bounded  # tools/science/cli_args.py, beside this file


def wavevectors(kind, period):
    angles = {"hexagonal": [0, 60, 120], "square": [0, 90], "oblique": [0, 70], "band": [0]}[kind]
    norm = 4 * np.pi / (np.sqrt(3) * period) if kind == "hexagonal" else 2 * np.pi / period
    a = np.radians(np.array(angles, float) + 17.0)  # an orientation off the axes
    return norm * np.stack([np.cos(a), np.sin(a)], axis=1)  # (K, 2)


def phases(kind, period, n):
    """An n x n tiling of the lattice's unit cell (the basis dual to the first two k)."""
    k = wavevectors(kind, period)
    if len(k) == 1:  # a band: phases along k only
        f = (np.arange(n * n) + 0.5) / (n * n)
        return np.outer(f, k[0] * 2 * np.pi / np.dot(k[0], k[0]))
    basis = 2 * np.pi * np.linalg.inv(k[:2]).T  # a_i . k_j = 2 pi delta_ij
    f = (np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2) + 0.5) / n
    return f @ basis  # (n^2, 2)


def code(x, k, p, threshold):
    """g(x) for positions x (S, 2): (S, units), unit norm."""
    r = np.zeros((len(x), len(p)))
    for kj in k:
        r += np.cos((x @ kj)[:, None] - (p @ kj)[None, :])
    r = np.maximum(r - threshold, 0)
    return r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)


def anisotropy(kind, period, side, threshold, x, lengths, directions=72):
    """Per step length: std over mean, across directions, of the ratio averaged over positions x."""
    k, p = wavevectors(kind, period), phases(kind, period, side)
    g0 = code(x, k, p, threshold)
    out = []
    for l in lengths:
        m = [np.mean(np.linalg.norm(code(x + l * np.array([np.cos(a), np.sin(a)]), k, p, threshold) - g0, axis=1)) / l
             for a in np.radians(np.arange(directions) * 360.0 / directions)]
        out.append(np.std(m) / np.mean(m))
    return out


def term(kind, period, side, threshold, x, v, cuts):
    """Per cut: the variance of the ratio over the steps v (at positions x) shorter than the cut."""
    k, p = wavevectors(kind, period), phases(kind, period, side)
    step = np.linalg.norm(v, axis=1)
    ratio = np.linalg.norm(code(x + v, k, p, threshold) - code(x, k, p, threshold), axis=1) / np.maximum(step, 1e-300)
    return [ratio[(step > 0) & (step < c)].var() for c in cuts]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # The bounds keep the arrays (positions x 20 steps x side^2 units) within memory.
    ap.add_argument("--period", type=bounded(float, 0.05, 10.0), default=0.92,
                    help="lattice period, m (the recipe's module: 0.92)")
    ap.add_argument("--v-max", type=bounded(float, 0.01, 1.0), default=0.15,
                    help="training steps are uniform in [-v_max, v_max]^2")
    ap.add_argument("--side", type=bounded(int, 2, 32), default=8, help="phases per side of the unit cell (units = side^2)")
    ap.add_argument("--positions", type=bounded(int, 10, 100000), default=3000)
    ap.add_argument("--seed", type=bounded(int, 0, 2 ** 32 - 1), default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, (args.positions, 2))
    lengths = [0.025, 0.05, 0.075, 0.1, 0.125, 0.15]
    cuts = [0.05, 0.1, 0.15]
    v = rng.uniform(-args.v_max, args.v_max, (args.positions * 20, 2))
    xv = np.repeat(x, 20, axis=0)
    print(f"period {args.period} m, {args.side ** 2} units (phases tiling the cell), {args.positions} positions")
    print(f"{'code':>10} {'threshold':>9}  anisotropy at step length (m)" + " " * 21 + "the term at cut (m)")
    print(" " * 21 + "".join(f"{l:7.3f}" for l in lengths) + "   " + "".join(f"{c:8.2f}" for c in cuts))
    for kind in ["hexagonal", "square", "oblique", "band"]:
        for threshold in [0.0, 0.5 * len(wavevectors(kind, 1)) / (3 if kind == "hexagonal" else 2)]:
            a = anisotropy(kind, args.period, args.side, threshold, x, lengths)
            t = term(kind, args.period, args.side, threshold, xv, v, cuts)
            print(f"{kind:>10} {threshold:9.2f}  " + "".join(f"{y:7.1%}" for y in a) + "   "
                  + "".join(f"{y:8.4f}" for y in t))


if __name__ == "__main__":
    main()
