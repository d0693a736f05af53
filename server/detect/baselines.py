"""Trivial comparison detectors, run beside the product's in benchmarks.

``RollingZScore`` is the naive design: the absolute z-score of a point against the mean and standard
deviation of the previous ``window`` points (river ``stats.Mean``/``stats.Var`` in ``utils.Rolling``), no
seasonality and no protection from outliers.

Examples
--------
>>> det = RollingZScore(window=10)
>>> for i in range(20):
...     det.learn_one({"y": float(i % 2)})
>>> round(det.score_one({"y": 5.0}), 2)
8.54
"""

from __future__ import annotations

import math

from river import base, stats, utils

__all__ = ["RollingZScore"]


class RollingZScore(base.AnomalyDetector):
    """|y - rolling mean| / rolling standard deviation over the last ``window`` points.

    Parameters
    ----------
    value_key
        Key of the value in each ``x``.
    window
        Number of past points in the rolling mean and variance.
    seed
        Unused; kept for the registry's common signature.
    """

    def __init__(self, value_key: str = "y", window: int = 288, seed: int | None = None):
        self.value_key = value_key
        self.window = window
        self.seed = seed
        self._mean = utils.Rolling(stats.Mean, window_size=window)
        self._var = utils.Rolling(stats.Var, window_size=window)

    def learn_one(self, x: dict) -> None:
        y = float(x[self.value_key])
        self._mean.update(y)
        self._var.update(y)

    def score_one(self, x: dict) -> float:
        """Absolute z-score; 0 until two points have been seen. Pure."""
        if self._var.get() is None or len(self._var.window) < 2:
            return 0.0
        sd = math.sqrt(max(self._var.get(), 1e-12))
        return abs(float(x[self.value_key]) - self._mean.get()) / sd
