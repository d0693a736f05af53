"""NAB scoring (Numenta Anomaly Benchmark), re-implemented from the method description.

Written from the specification in ``shared/research/nab.md`` section 2 (no NAB code copied): scoring
windows, the scaled sigmoid, the three profiles, the probationary period, the corpus-wide threshold
sweep (ties go to the largest threshold) and the normalisation with the null and perfect detectors.
It lives in ``server.detect`` (pure, no I/O) so that tests can import it; ``bench/nab.py`` reads the
corpus and calls it.

Examples
--------
>>> f = NabFile(n=100, windows=[(40, 49)])
>>> scores = [0.0] * 100
>>> scores[40] = 1.0                                   # fires at the window's first row
>>> round(f.score(scores, 0.5, PROFILES["standard"]), 4)
1.0
>>> threshold, raw = optimise([(f, scores)], PROFILES["standard"])
>>> threshold, normalise(raw, 1, PROFILES["standard"])
(1.0, 100.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

__all__ = ["PROFILES", "Profile", "NabFile", "scaled_sigmoid", "probation_rows", "optimise", "normalise",
           "window_rows"]


class Profile(NamedTuple):
    """Weights of one NAB scoring profile (``config/profiles.json``; ``tnWeight`` is unused)."""

    tp: float
    fp: float
    fn: float


PROFILES = {
    "standard": Profile(1.0, 0.11, 1.0),
    "reward_low_FP_rate": Profile(1.0, 0.22, 1.0),
    "reward_low_FN_rate": Profile(1.0, 0.11, 2.0),
}


def scaled_sigmoid(x: float) -> float:
    """NAB's g(x) = 2 / (1 + e^(5x)) - 1, and -1 beyond x = 3.

    >>> round(scaled_sigmoid(-1.0), 11), scaled_sigmoid(4.0), scaled_sigmoid(0.0)
    (0.98661429815, -1.0, 0.0)
    """
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


M = scaled_sigmoid(-1.0)


def probation_rows(n: int) -> int:
    """Rows ignored at the start of a file: min(floor(0.15 n), 750).

    >>> probation_rows(4032), probation_rows(15000)
    (604, 750)
    """
    return min(int(math.floor(0.15 * n)), 750)


def window_rows(timestamps: Sequence[str], windows: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Window edges (timestamps) to row indices: the first row whose timestamp equals each edge.

    >>> window_rows(["a", "b", "c", "b"], [["b", "c"]])
    [(1, 2)]
    """
    first: dict[str, int] = {}
    for i, t in enumerate(timestamps):
        first.setdefault(t, i)
    return [(first[a], first[b]) for a, b in windows]


@dataclass
class NabFile:
    """One stream's geometry: its length and its inclusive scoring windows as row indices."""

    n: int
    windows: list[tuple[int, int]] = field(default_factory=list)

    @property
    def probation(self) -> int:
        return probation_rows(self.n)

    def values(self, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Per-row value v(i) for a detection, and the window index of each row (-1 outside).

        >>> v, w = NabFile(n=10, windows=[(2, 5)]).values(PROFILES["standard"])
        >>> [round(float(x), 3) for x in v[:7]], w.tolist()
        ([-0.11, -0.11, 1.0, 0.967, 0.86, 0.562, -0.075], [-1, -1, 0, 0, 0, 0, -1, -1, -1, -1])
        """
        v = np.full(self.n, -profile.fp, dtype=float)
        wid = np.full(self.n, -1, dtype=int)
        for k, (left, right) in enumerate(self.windows):
            width = right - left + 1
            for i in range(left, right + 1):
                v[i] = profile.tp * scaled_sigmoid(-(right - i + 1) / width) / M
                wid[i] = k
            end = self.windows[k + 1][0] if k + 1 < len(self.windows) else self.n
            for i in range(right + 1, end):
                v[i] = profile.fp * scaled_sigmoid((i - right) / max(width - 1, 1))
        return v, wid

    def score(self, scores: Sequence[float], threshold: float, profile: Profile) -> float:
        """Raw score S_f at one threshold (a row detects when its score >= threshold)."""
        v, wid = self.values(profile)
        a = np.asarray(scores, dtype=float)
        p = self.probation
        total = 0.0
        for k in range(len(self.windows)):
            hit = (wid == k) & (a >= threshold)
            hit[:p] = False
            total += float(v[hit].max()) if hit.any() else -profile.fn
        fp = (wid == -1) & (a >= threshold)
        fp[:p] = False
        return total + float(v[fp].sum())


def optimise(files: Sequence[tuple[NabFile, Sequence[float]]], profile: Profile) -> tuple[float, float]:
    """Best corpus threshold and its raw score S(theta*), by an exhaustive descending sweep.

    The candidates are "no detections" (returned as ``inf``) and every distinct post-probation score;
    ties go to the largest threshold.

    >>> f = NabFile(n=100, windows=[(40, 49)])
    >>> s = [0.0] * 100; s[20] = 0.9; s[45] = 0.8       # a false positive above the true positive
    >>> t, raw = optimise([(f, s)], PROFILES["standard"])
    >>> t, round(raw, 4)
    (0.8, 0.7498)
    """
    scores, values, windows = [], [], []
    n_windows = 0
    for f, a in files:
        v, wid = f.values(profile)
        p = f.probation
        scores.append(np.asarray(a, dtype=float)[p:])
        values.append(v[p:])
        windows.append(np.where(wid[p:] >= 0, wid[p:] + n_windows, -1))
        n_windows += len(f.windows)
    a = np.concatenate(scores) if scores else np.zeros(0)
    v = np.concatenate(values) if values else np.zeros(0)
    w = np.concatenate(windows) if windows else np.zeros(0, dtype=int)
    order = np.argsort(-a, kind="stable")
    a, v, w = a[order].tolist(), v[order].tolist(), w[order].tolist()
    best = [-profile.fn] * n_windows
    total = -profile.fn * n_windows
    best_t, best_s = math.inf, total
    for i, (ai, vi, wi) in enumerate(zip(a, v, w)):
        if wi < 0:
            total += vi
        elif vi > best[wi]:
            total += vi - best[wi]
            best[wi] = vi
        if (i + 1 == len(a) or a[i + 1] != ai) and total > best_s + 1e-12:
            best_t, best_s = ai, total
    return best_t, best_s


def normalise(raw: float, n_windows: int, profile: Profile) -> float:
    """100 (S - S_null) / (S_perfect - S_null), with S_null = -fn N and S_perfect = tp N.

    >>> round(normalise(46.634, 116, PROFILES["standard"]), 2)
    70.1
    """
    null, perfect = -profile.fn * n_windows, profile.tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)
