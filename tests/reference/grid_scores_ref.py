"""Straightforward NumPy/SciPy grid scores, as sic-method.md 5.2 restates
google-deepmind/grid-cells scores.py: Pearson-per-lag autocorrelogram built from
full 2-D convolutions, ten annulus masks, scipy.ndimage.rotate (cubic spline,
zero fill), the unrotated-mean quirk, min-max and mean 60-degree scores, the
90-degree score, the maximum over masks.

It is the yardstick for the C++ scorer (sic/gridscore.h): the bench times both,
and the CLI test checks that they agree. `nan_as_zero=True` is the reference's
own behaviour (NaN bins become valid zeros); `nan_as_zero=False` excludes NaN
bins from every lag's sums, which is the C++ default.
"""
import numpy as np
import scipy.ndimage
import scipy.signal

ANGLES = (30, 45, 60, 90, 120, 135, 150)


def _filter2(b, x):
    return scipy.signal.convolve2d(x, np.rot90(b, 2), mode="full")


def autocorrelogram(rate_map, nan_as_zero=True):
    m = np.asarray(rate_map, dtype=np.float64)
    if nan_as_zero:
        m = np.nan_to_num(m)
    valid = np.isfinite(m).astype(np.float64)
    x = np.where(valid > 0, m, 0.0)
    xy = _filter2(x, x)
    s1 = _filter2(x, valid)
    s2 = _filter2(valid, x)
    q1 = _filter2(x * x, valid)
    q2 = _filter2(valid, x * x)
    nb = _filter2(valid, valid)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd1 = np.power(q1 / nb - s1 ** 2 / nb ** 2, 0.5)
        sd2 = np.power(q2 / nb - s2 ** 2 / nb ** 2, 0.5)
        cov = xy / nb - s1 * s2 / nb ** 2
        sac = cov / (sd1 * sd2)
    return np.nan_to_num(sac)


def ring_masks(n):
    size = 2 * n - 1
    half = size // 2
    ax = np.linspace(-half, half, size)
    r = np.sqrt(ax[None, :] ** 2 + ax[:, None] ** 2)
    outs = np.linspace(0.4, 1.0, 10)
    return [(r <= ro * n).astype(np.float64) * (1 - (r <= 0.2 * n).astype(np.float64)) for ro in outs]


class Scorer:
    def __init__(self, n, nan_as_zero=True):
        self.n = n
        self.nan_as_zero = nan_as_zero
        self.masks = ring_masks(n)

    def score(self, rate_map):
        """Returns (score60 min-max, score60 mean form, score90, argmax mask of score60)."""
        sac = autocorrelogram(rate_map, self.nan_as_zero)
        rot = {a: scipy.ndimage.rotate(sac, a, reshape=False) for a in ANGLES}
        s60, s60m, s90 = [], [], []
        for mask in self.masks:
            area = mask.sum()
            mean = (sac * mask).sum() / area
            centred = (sac - mean) * mask
            var = (centred ** 2).sum() / area + 1e-5
            c = {a: (centred * (rot[a] - mean) * mask).sum() / area / var for a in ANGLES}
            s60.append(min(c[60], c[120]) - max(c[30], c[90], c[150]))
            s60m.append((c[60] + c[120]) / 2 - (c[30] + c[90] + c[150]) / 3)
            s90.append(c[90] - (c[45] + c[135]) / 2)
        return max(s60), max(s60m), max(s90), int(np.argmax(s60))


def hex_lattice(n, period_bins, orientation_deg=0.0, phase=(0.0, 0.0)):
    """Sum of three plane waves 60 degrees apart; peaks spaced period_bins apart,
    with lattice vectors at orientation_deg (+ k * 60) from the column axis."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    k = 4 * np.pi / (np.sqrt(3) * period_bins)
    out = np.zeros((n, n))
    for j in range(3):
        a = np.deg2rad(orientation_deg + 30 + 60 * j)
        out += np.cos(k * (np.cos(a) * (x - phase[0]) + np.sin(a) * (y - phase[1])))
    return out
