"""Combining detectors, and one report per episode.

``Strongest`` runs several detectors side by side on the same points and scores each point by the
largest of their weighted scores. The detectors look at different evidence: a ``Novelty`` over a
``VolumeDetector`` with a short level half-life (sudden changes), another with a long one (slow drifts
that a fast baseline follows point by point), ``RangeNovelty`` (a new high or low) and ``ShapeNovelty``
(a new rhythm). Weights put their scales on one footing, so that one threshold serves the lot. river's
``compose`` has no such "max over detectors" union for anomaly detectors, hence this class.

``Refractory`` turns an episode into one report. Once the wrapped detector scores at or above
``threshold``, the next ``quiet`` points score 0: an incident is signalled at its start, not at every
point while it lasts. ``AlertFilter``'s refractory does the same for alerts (booleans); this one keeps
scores, so that the threshold that makes alerts can still be chosen afterwards (NAB chooses one per
corpus; the product's ``AlertFilter`` has its own). The wrapped detector keeps learning every point.

Examples
--------
>>> from server.detect.shape import RangeNovelty
>>> det = Refractory(Strongest([RangeNovelty(warmup=5)], weights=[2.0]), threshold=1.0, quiet=3)
>>> for i in range(20):
...     det.learn_one({"y": float(i % 5)})
>>> scores = []
>>> for y in (10.0, 20.0, 30.0, 40.0, 50.0):
...     scores.append(det.score_one({"y": y})); det.learn_one({"y": y})
>>> scores
[2.0, 0.0, 0.0, 0.0, 2.0]
"""

from __future__ import annotations

from river import base

__all__ = ["Strongest", "Refractory"]


class Strongest(base.AnomalyDetector):
    """The largest weighted score of several detectors, all of which learn every point.

    Parameters
    ----------
    detectors
        The detectors, each with river's ``score_one``/``learn_one``.
    weights
        One factor per detector (all 1 when omitted).
    """

    def __init__(self, detectors: list, weights: list[float] | None = None):
        self.detectors = detectors
        self.weights = list(weights) if weights is not None else [1.0] * len(detectors)
        if len(self.weights) != len(detectors):
            raise ValueError("one weight per detector")

    def _get_params(self) -> dict:
        # river describes an estimator parameter as (class, params) but would deep-copy a list of
        # estimators, state and all; so describe each one, and clone each one in ``clone``
        return {"detectors": [(d.__class__, d._get_params()) for d in self.detectors], "weights": list(self.weights)}

    def clone(self, new_params: dict | None = None, include_attributes: bool = False) -> Strongest:
        """A fresh ``Strongest`` over fresh clones of the detectors (new ``weights`` may be given)."""
        weights = (new_params or {}).get("weights", self.weights)
        return Strongest([d.clone() for d in self.detectors], list(weights))

    def score_one(self, x: dict) -> float:
        """max_k weight_k * score_k(x). Pure."""
        return max((w * d.score_one(x) for d, w in zip(self.detectors, self.weights) if w), default=0.0)

    def learn_one(self, x: dict) -> None:
        for d in self.detectors:
            d.learn_one(x)


class Refractory(base.AnomalyDetector):
    """Scores 0 for ``quiet`` points after a score at or above ``threshold``.

    Parameters
    ----------
    anomaly_detector
        The wrapped detector (it learns every point, quiet or not).
    threshold
        A score at or above it opens a quiet spell.
    quiet
        Points that score 0 after it.
    """

    def __init__(self, anomaly_detector: base.AnomalyDetector, threshold: float = 1.3, quiet: int = 20):
        self.anomaly_detector = anomaly_detector
        self.threshold = threshold
        self.quiet = quiet
        self._left = 0

    def score_one(self, x: dict) -> float:
        """0 during a quiet spell, else the wrapped detector's score. Pure."""
        return 0.0 if self._left > 0 else self.anomaly_detector.score_one(x)

    def learn_one(self, x: dict) -> None:
        if self._left > 0:
            self._left -= 1
        elif self.anomaly_detector.score_one(x) >= self.threshold:
            self._left = self.quiet
        self.anomaly_detector.learn_one(x)
