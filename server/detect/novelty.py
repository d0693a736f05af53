"""Novelty: how a detector's score compares with the largest it has given recently.

``Novelty`` wraps any detector (passed to the constructor) and scores a point by the ratio of the inner
score to a slowly decaying maximum of the inner scores seen before it. Above 1 means "more surprising
than anything in the recent past of this stream". It turns per-stream differences in calibration (a
heavy-tailed stream whose baseline p-values are always small) into one scale that one threshold can
serve across many streams, and fires once per episode: the first point of a burst raises the maximum,
so the next points of the same burst score lower. No river class keeps a decaying maximum (``RollingMax``
keeps a window of values, so forgets abruptly and costs memory), hence this small class.

The underlying p-value stays available through ``anomaly_detector.explain_one`` for the evidence.

Examples
--------
>>> from server.detect.volume import VolumeDetector
>>> det = Novelty(VolumeDetector(), warmup=20)
>>> for i in range(300):
...     det.learn_one({"y": 10 + (i * 7) % 5})
>>> det.score_one({"y": 40}) > 2 * det.score_one({"y": 15})
True
"""

from __future__ import annotations

from river import base

__all__ = ["Novelty"]


class Novelty(base.AnomalyDetector):
    """Inner score over the decaying maximum of the past inner scores.

    Parameters
    ----------
    anomaly_detector
        The detector whose scores are compared with their own recent maximum.
    halflife
        Half-life, in points, of the maximum's decay.
    warmup
        Points learnt before scores (and the maximum) count; the inner baseline is still settling.
    floor
        Smallest maximum divided by, so that a calm stream does not inflate tiny scores.
    """

    def __init__(self, anomaly_detector: base.AnomalyDetector | None = None, halflife: float = 1000.0,
                 warmup: int = 150, floor: float = 1e-9):
        self.anomaly_detector = anomaly_detector
        self.halflife = halflife
        self.warmup = warmup
        self.floor = floor
        self._inner = anomaly_detector if anomaly_detector is not None else _default()
        self._max = 0.0
        self._n = 0

    def score_one(self, x: dict) -> float:
        """Inner score divided by the recent maximum; 0 during warm-up. Pure."""
        if self._n < self.warmup:
            return 0.0
        return self._inner.score_one(x) / max(self._max, self.floor)

    def learn_one(self, x: dict) -> None:
        if self._n >= self.warmup:
            decay = 0.5 ** (1.0 / self.halflife)
            self._max = max(self._max * decay, self._inner.score_one(x))
        self._inner.learn_one(x)
        self._n += 1


def _default() -> base.AnomalyDetector:
    from .volume import VolumeDetector

    return VolumeDetector()
