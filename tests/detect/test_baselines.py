from __future__ import annotations

from server.detect import RollingZScore


def test_rolling_zscore_forgets_beyond_its_window():
    det = RollingZScore(window=20)
    for i in range(20):
        det.learn_one({"y": 1000.0 + i % 2})
    for i in range(20):
        det.learn_one({"y": float(i % 2)})
    assert det.score_one({"y": 0.5}) < 1 and det.score_one({"y": 50.0}) > 10
