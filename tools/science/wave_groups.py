#!/usr/bin/python3
"""wave_groups.py: which spatial codes a trained network holds, unit groups by wave.

A module counts only hexagonal units. The module search (docs/science-cpu.md) also needs to
see the rest: a square lattice, or a handful of bands beside a lattice at another spacing (a
second length scale, as small sigma_g grows). This groups a rate-map analysis's active units
by Fourier pattern, wave spacing (`wave_period_m`, 1/|k1|) and wave direction
(`wave_angle_deg`), and prints one line per arena:

  ARENA_DIR | modules: 25 units at 0.90 m
    grid 22 x 0.82 m @ 8; band 4 x 1.10 m @ 124; ...

Directions are compared modulo the pattern's symmetry (60 degrees for grid and partial
units, whose strongest wave may be any of three; 90 for square; 180 otherwise), and a group
is "count x spacing @ direction" of its first unit. Input: an arena directory of an
evaluation or probe (`eval/arena_2m`, `probe/step-S/arena_2m`) with `scores.json`. An older
`scores.json` without `wave_angle_deg` is analysed again from its `ratemaps.npy` with
`sic analyze` (--sic PATH).

Usage: wave_groups.py ARENA_DIR... [--sic PATH] [--spacing-tol F] [--angle-tol DEG] [--json]
Exit status: 0, or 2 with one line naming what is wrong.
"""
import argparse
import json
import math
import os
import subprocess
import sys

from cli_args import bounded  # tools/science/cli_args.py, beside this file

SYMMETRY_DEG = {"grid": 60.0, "partial": 60.0, "square": 90.0}
MAX_SCORES_BYTES = 64 << 20  # a 1024-unit analysis is about 0.5 MB


def load_analysis(arena_dir, sic):
    """The analysis of one arena: scores.json, or `sic analyze` of its rate maps."""
    scores = os.path.join(arena_dir, "scores.json")
    if not os.path.isfile(scores):
        raise ValueError(f"{arena_dir}: no scores.json (give an arena directory, e.g. eval/arena_2m)")
    if os.path.getsize(scores) > MAX_SCORES_BYTES:
        raise ValueError(f"{scores}: larger than {MAX_SCORES_BYTES >> 20} MiB")
    with open(scores) as f:
        try:
            a = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{scores}: not JSON ({e.msg} at line {e.lineno})")
    check_analysis(a, scores)
    if all("wave_angle_deg" in u for u in a["units"]):
        return a
    if not sic:
        raise ValueError(f"{scores}: no wave_angle_deg (an older analysis); give --sic PATH to analyse "
                         f"{os.path.join(arena_dir, 'ratemaps.npy')} again")
    size = a.get("arena_size_m")
    if not isinstance(size, (int, float)) or not size > 0:
        raise ValueError(f"{scores}: no arena_size_m to analyse its rate maps with")
    maps = os.path.join(arena_dir, "ratemaps.npy")
    r = subprocess.run([sic, "analyze", maps, "--arena-size", repr(float(size)), "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ValueError(f"{maps}: sic analyze failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    a = json.loads(r.stdout)
    check_analysis(a, maps)
    return a


def check_analysis(a, where):
    """Each unit an object with an integer index and, where present, finite waves; each
    module an object with an integer unit count, a finite period and, where present, the
    integer id of the module it may be a harmonic of."""
    units = a.get("units") if isinstance(a, dict) else None
    if not isinstance(units, list):
        raise ValueError(f"{where}: no \"units\" list")
    for k, u in enumerate(units):
        if not isinstance(u, dict) or not isinstance(u.get("index"), int) or isinstance(u.get("index"), bool):
            raise ValueError(f"{where}: unit {k} is not an object with an integer \"index\"")
        for key in ("wave_period_m", "wave_angle_deg"):
            v = u.get(key)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)
                                  or (key == "wave_period_m" and v <= 0)):
                raise ValueError(f"{where}: unit {k}: {key} {v!r} is not a finite number" +
                                 (" above 0" if key == "wave_period_m" else ""))
    modules = a.get("modules", [])
    if not isinstance(modules, list):
        raise ValueError(f"{where}: \"modules\" is not a list")
    for k, m in enumerate(modules):
        ok = isinstance(m, dict) and isinstance(m.get("units"), int) and not isinstance(m.get("units"), bool) and \
            isinstance(m.get("period_m"), (int, float)) and not isinstance(m.get("period_m"), bool) and \
            math.isfinite(m["period_m"])
        if not ok:
            raise ValueError(f"{where}: module {k} is not an object with an integer \"units\" and a finite \"period_m\"")
        h = m.get("harmonic_of")
        if h is not None and (not isinstance(h, int) or isinstance(h, bool) or not 0 <= h < len(modules)):
            raise ValueError(f"{where}: module {k}: harmonic_of {h!r} is not null or a module's id")


def angle_apart(a, b, symmetry):
    d = math.fmod(a - b, symmetry)
    if d < 0:
        d += symmetry
    return min(d, symmetry - d)


def group_units(analysis, spacing_tol, angle_tol):
    """Active units with a clear wave, grouped greedily in unit order; largest group first."""
    groups = []
    for u in analysis["units"]:
        p, s, a = u.get("pattern"), u.get("wave_period_m"), u.get("wave_angle_deg")
        if u.get("silent") or p in (None, "none") or s is None or a is None:
            continue
        sym = SYMMETRY_DEG.get(p, 180.0)
        for g in groups:
            if g["pattern"] == p and abs(s / g["spacing_m"] - 1) <= spacing_tol and \
               angle_apart(a, g["angle_deg"], sym) <= angle_tol:
                g["units"].append(u["index"])
                break
        else:
            groups.append({"pattern": p, "spacing_m": s, "angle_deg": a, "units": [u["index"]]})
    groups.sort(key=lambda g: -len(g["units"]))
    return groups


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arena_dirs", nargs="+", metavar="ARENA_DIR")
    ap.add_argument("--sic", help="the sic binary, to analyse older rate maps again")
    ap.add_argument("--spacing-tol", type=bounded(float, 0.0, 0.5), default=0.08,
                    help="relative spacing difference within a group (default 0.08)")
    ap.add_argument("--angle-tol", type=bounded(float, 0.0, 45.0), default=10.0,
                    help="direction difference within a group, degrees (default 10)")
    ap.add_argument("--json", action="store_true", help="one JSON object per arena")
    args = ap.parse_args(argv)
    if args.sic and not os.access(args.sic, os.X_OK):
        ap.error(f"--sic {args.sic}: not an executable file")
    for d in args.arena_dirs:
        try:
            analysis = load_analysis(d, args.sic)
        except ValueError as e:
            print(f"wave_groups.py: {e}", file=sys.stderr)
            return 2
        groups = group_units(analysis, args.spacing_tol, args.angle_tol)
        # harmonic_of: a longer module whose lattice this one may only echo (docs/analysis.md,
        # "Harmonics"); absent from analyses before it, and then None.
        modules = [{"units": m["units"], "period_m": m["period_m"], "harmonic_of": m.get("harmonic_of")}
                   for m in analysis.get("modules", [])]
        if args.json:
            print(json.dumps({"arena_dir": d, "modules": modules, "groups": groups}))
            continue
        mods = ", ".join("%d units at %.2f m" % (m["units"], m["period_m"]) +
                         ("" if m["harmonic_of"] is None else " (may be a harmonic of module %d)" % m["harmonic_of"])
                         for m in modules) or "none"
        print(f"{d} | modules: {mods}")
        print("  " + ("; ".join("%s %d x %.2f m @ %d" % (g["pattern"], len(g["units"]), g["spacing_m"],
                                                           round(g["angle_deg"])) for g in groups) or "no unit with a wave"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
