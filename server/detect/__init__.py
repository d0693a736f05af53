"""Detect: streaming anomaly detectors over event-time series (pure: no Flask, no database, no clock).

Every detector follows river's protocol: ``learn_one(x) -> None``, ``score_one(x) -> float`` (higher is
more anomalous; score a point before learning it; scoring changes nothing). ``x`` is a dict carrying the
value under ``"y"`` and its event time under ``"t"``. Detectors pickle (checkpoints) and rebuild from
their parameters (``clone()``). Deciding is separate: :class:`AlertFilter` thresholds scores into alerts
and keeps alerts out of the baseline. ``DETECTORS`` registers each kind under a stable name for settings
and benchmarks; :func:`make` builds one. ``server.detect.nab`` scores detectors the NAB way.

Examples
--------
>>> det = make("volume", direction="up")
>>> sorted(DETECTORS)
['rolling_zscore', 'volume', 'volume_novelty']
>>> det.learn_one({"y": 3}); det.score_one({"y": 3})
0.0
"""

from __future__ import annotations

from .baselines import RollingZScore
from .novelty import Novelty
from .threshold import AlertFilter
from .volume import Explanation, VolumeDetector

__all__ = ["DETECTORS", "make", "VolumeDetector", "Novelty", "RollingZScore", "AlertFilter", "Explanation"]


def volume_novelty(halflife: float = 1000.0, warmup: int = 150, **params) -> Novelty:
    """``Novelty`` over a ``VolumeDetector`` built from ``params`` (the NAB configuration's shape)."""
    return Novelty(VolumeDetector(**params), halflife=halflife, warmup=warmup)


DETECTORS = {
    "volume": VolumeDetector,
    "volume_novelty": volume_novelty,
    "rolling_zscore": RollingZScore,
}


def make(kind: str, **params):
    """A fresh detector of a registered kind; unknown parameters raise ``TypeError``.

    >>> make("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown detector kind 'nope'; known: rolling_zscore, volume, volume_novelty"
    """
    if kind not in DETECTORS:
        raise KeyError(f"unknown detector kind {kind!r}; known: {', '.join(sorted(DETECTORS))}")
    return DETECTORS[kind](**params)
