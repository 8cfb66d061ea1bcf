"""The NumPy/SciPy side of bench/grid_scores: grid scores of the same maps with
tests/reference/grid_scores_ref.py (DeepMind scores.py restated: convolve2d
autocorrelogram, scipy.ndimage.rotate order 3), timed on this process's one
thread. Prints one JSON line: maps/s and every map's scores.

usage: grid_scores.py MAPS.npy COUNT [--nan-as-zero]
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
import grid_scores_ref as ref  # noqa: E402


def main():
    maps = np.load(sys.argv[1])[: int(sys.argv[2])].astype(np.float64)
    scorer = ref.Scorer(maps.shape[1], nan_as_zero="--nan-as-zero" in sys.argv)
    start = time.perf_counter()
    scores = [scorer.score(m)[:3] for m in maps]
    seconds = time.perf_counter() - start
    print(json.dumps({"maps": len(maps), "seconds": seconds, "maps_per_s": len(maps) / seconds,
                      "scores": [list(map(float, s)) for s in scores]}))


if __name__ == "__main__":
    main()
