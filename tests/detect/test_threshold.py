from __future__ import annotations

from server.detect import AlertFilter, VolumeDetector


def feed(f, values):
    return [f.alert_one({"y": v}) for v in values]


def test_one_alert_per_episode_with_a_refractory_period():
    f = AlertFilter(VolumeDetector(), threshold=4.0, refractory=5)
    feed(f, [10, 11, 9, 10] * 50)
    assert feed(f, [80, 80, 80]) == [True, False, False]


def test_alerts_are_kept_out_of_the_baseline_until_patience_runs_out():
    det = VolumeDetector()
    f = AlertFilter(det, threshold=4.0, patience=3)
    feed(f, [10, 11, 9, 10] * 50)
    n = det._n
    feed(f, [80, 80, 80])
    assert det._n == n
    feed(f, [80])
    assert det._n == n + 1
    assert f.classify(4.0) and not f.classify(3.9)
