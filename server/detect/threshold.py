"""Deciding, apart from scoring: turn a detector's scores into alerts and keep alerts out of its baseline.

``AlertFilter`` is a river ``AnomalyFilter``: ``classify(score)`` says whether a score is an alert, and
``learn_one`` does not teach the wrapped detector points it alerts on, as river's ``ThresholdFilter``.
It adds two things river's filter lacks, hence this class:

- ``patience``: after that many consecutive alerted points the change is taken as the new normal and the
  detector learns again (otherwise a lasting level shift would alert forever, never learnt);
- ``refractory``: ``alert_one`` reports one alert per episode, staying quiet for that many points after
  an alert (one alert per incident, not per bucket).

Examples
--------
>>> from server.detect.volume import VolumeDetector
>>> f = AlertFilter(VolumeDetector(direction="up"), threshold=4.0)
>>> for i in range(100):
...     _ = f.alert_one({"y": 5 + i % 2})
>>> f.alert_one({"y": 30}), f.anomaly_detector.explain_one({"y": 6}).expected < 7
(True, True)
"""

from __future__ import annotations

from river import base

__all__ = ["AlertFilter"]


class AlertFilter(base.AnomalyFilter):
    """Threshold a detector's score; alerts are not learnt, up to ``patience`` in a row.

    Parameters
    ----------
    anomaly_detector
        The detector whose ``score_one`` is thresholded.
    threshold
        Scores at or above it are alerts (for ``VolumeDetector``: surprise, -log10 p).
    protect_anomaly_detector
        Whether alerted points are kept out of the detector's baseline.
    patience
        Consecutive alerted points after which the detector learns again (the change persists).
    refractory
        Points after an alert during which ``alert_one`` does not alert again.
    """

    def __init__(self, anomaly_detector: base.AnomalyDetector, threshold: float = 4.0,
                 protect_anomaly_detector: bool = True, patience: int = 12, refractory: int = 0):
        super().__init__(anomaly_detector, protect_anomaly_detector)
        self.threshold = threshold
        self.patience = patience
        self.refractory = refractory
        self._run = 0
        self._quiet = 0

    def classify(self, score: float) -> bool:
        return score >= self.threshold

    def learn_one(self, x: dict) -> None:
        """Learn ``x`` unless it is an alert (and fewer than ``patience`` alerts came just before)."""
        alert = self.classify(self.score_one(x))
        self._run = self._run + 1 if alert else 0
        if not (self.protect_anomaly_detector and alert and self._run <= self.patience):
            self.anomaly_detector.learn_one(x)
        self._quiet = max(0, self._quiet - 1)

    def alert_one(self, x: dict) -> bool:
        """Score, decide and learn one point; True when it opens a new alert (outside the refractory)."""
        alert = self.classify(self.score_one(x)) and self._quiet == 0
        self.learn_one(x)
        if alert:
            self._quiet = self.refractory
        return alert
