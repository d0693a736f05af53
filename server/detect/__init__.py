"""Detect: streaming anomaly detectors over event-time series (pure: no Flask, no database, no clock).

Every detector follows river's protocol: ``learn_one(x) -> None``, ``score_one(x) -> float`` (higher is
more anomalous; score a point before learning it; scoring changes nothing). ``x`` is a dict carrying the
value under ``"y"`` and its event time under ``"t"``. Detectors pickle (checkpoints) and rebuild from
their parameters (``clone()``). Deciding is separate: :class:`AlertFilter` thresholds scores into alerts
and keeps alerts out of the baseline. ``DETECTORS`` registers each kind under a stable name for settings
and benchmarks; :func:`make` builds one. ``server.detect.nab`` scores detectors the NAB way.

``volume_multiscale`` is the NAB configuration's shape: the volume detector at two time scales (each
behind a ``Novelty``), with range and shape novelty beside them (``server.detect.shape``), combined by
``Strongest`` and reported once per episode by ``Refractory`` (``server.detect.combine``).

Examples
--------
>>> det = make("volume", direction="up")
>>> sorted(DETECTORS)
['rolling_zscore', 'volume', 'volume_multiscale', 'volume_novelty']
>>> det.learn_one({"y": 3}); det.score_one({"y": 3})
0.0
"""

from __future__ import annotations

from .baselines import RollingZScore
from .combine import Refractory, Strongest
from .novelty import Novelty
from .shape import RangeNovelty, ShapeNovelty
from .threshold import AlertFilter
from .volume import Explanation, VolumeDetector

__all__ = ["DETECTORS", "make", "VolumeDetector", "Novelty", "RollingZScore", "AlertFilter", "Explanation",
           "Strongest", "Refractory", "RangeNovelty", "ShapeNovelty"]


def volume_novelty(halflife: float = 1000.0, warmup: int = 150, **params) -> Novelty:
    """``Novelty`` over a ``VolumeDetector`` built from ``params`` (the NAB configuration's shape)."""
    return Novelty(VolumeDetector(**params), halflife=halflife, warmup=warmup)


def volume_multiscale(level_halflives: tuple[float, ...] = (12.0, 1000.0), halflife: float = 1000.0,
                      warmup: int = 150, range_tolerance: float = 0.02, range_weight: float = 5.0,
                      shape_weight: float = 0.0, shape_levels: int = 5, shape_length: int = 4,
                      shape_halflife: float = 1000.0, refractory_threshold: float = 1.3, quiet: int = 20,
                      **params) -> Refractory:
    """One ``Novelty(VolumeDetector(level_halflife=h, **params))`` per ``h`` in ``level_halflives``, with
    ``RangeNovelty`` (weight ``range_weight``) and, when ``shape_weight`` > 0, ``ShapeNovelty`` beside
    them; the strongest weighted score, quiet for ``quiet`` points after one reaches
    ``refractory_threshold``. Every part has the same ``warmup``.

    >>> det = make("volume_multiscale", warmup=20, short_halflife=6.0)
    >>> for i in range(300):
    ...     det.learn_one({"y": 10.0 + i % 3})
    >>> det.score_one({"y": 11.0}) < 1 < det.score_one({"y": 40.0})
    True
    """
    parts = [Novelty(VolumeDetector(level_halflife=h, **params), halflife=halflife, warmup=warmup)
             for h in level_halflives]
    weights = [1.0] * len(parts)
    parts.append(RangeNovelty(tolerance=range_tolerance, warmup=warmup))
    weights.append(range_weight)
    if shape_weight > 0:
        parts.append(ShapeNovelty(levels=shape_levels, length=shape_length, halflife=shape_halflife, warmup=warmup))
        weights.append(shape_weight)
    return Refractory(Strongest(parts, weights), threshold=refractory_threshold, quiet=quiet)


DETECTORS = {
    "volume": VolumeDetector,
    "volume_novelty": volume_novelty,
    "volume_multiscale": volume_multiscale,
    "rolling_zscore": RollingZScore,
}


def make(kind: str, **params):
    """A fresh detector of a registered kind; unknown parameters raise ``TypeError``.

    >>> make("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown detector kind 'nope'; known: rolling_zscore, volume, volume_multiscale, volume_novelty"
    """
    if kind not in DETECTORS:
        raise KeyError(f"unknown detector kind {kind!r}; known: {', '.join(sorted(DETECTORS))}")
    return DETECTORS[kind](**params)
