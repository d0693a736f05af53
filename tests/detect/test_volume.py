"""VolumeDetector on constructed series (generated here; no benchmark data)."""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta

import numpy as np
import pytest

from server.detect import AlertFilter, VolumeDetector

T0 = datetime(2026, 3, 2)  # a Monday
STEP = timedelta(minutes=15)
ALERT = 4.0  # surprise, -log10 p


def steady(n: int, lam: float, seed: int = 0, start: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"t": T0 + STEP * (start + i), "y": int(v)} for i, v in enumerate(rng.poisson(lam, n))]


def daily(days: int, seed: int = 0) -> tuple[list[dict], callable]:
    """Counts per 15 minutes: 5 at night, 35 at the 14:00 peak."""
    def lam(t: datetime) -> float:
        return 5 + 30 * math.exp(-((t.hour + t.minute / 60 - 14) ** 2) / 8)

    rng = np.random.default_rng(seed)
    xs = [{"t": T0 + STEP * i, "y": int(rng.poisson(lam(T0 + STEP * i)))} for i in range(days * 96)]
    return xs, lam


def learn(det, xs):
    for x in xs:
        det.learn_one(x)
    return det


def test_a_spike_is_found():
    det = learn(VolumeDetector(), steady(400, 6))
    spike = {"t": T0 + STEP * 400, "y": 30}
    e = det.explain_one(spike)
    assert det.score_one(spike) >= ALERT
    assert e.direction == "up" and e.p_value < 1e-4 and e.upper < 30
    assert det.score_one({"t": T0 + STEP * 400, "y": 7}) < 1


def test_a_rise_at_the_seasonal_peak_is_not_flagged_once_the_day_is_learnt():
    xs, lam = daily(days=10)
    det = learn(VolumeDetector(), xs)
    peak = {"t": T0 + timedelta(days=10, hours=14), "y": 36}       # +31 over the daily floor, at the peak
    night = {"t": T0 + timedelta(days=10, hours=3), "y": 36}        # the same rise at night
    assert det.score_one(peak) < 2
    assert det.score_one(night) >= ALERT
    assert abs(det.explain_one(peak).expected - lam(peak["t"])) < 4
    unaware = learn(VolumeDetector(seasonality="none"), xs)
    assert unaware.score_one(night) < det.score_one(night)


def test_a_drop_to_silence_is_found_with_direction_down():
    det = learn(VolumeDetector(), steady(400, 20))
    silence = {"t": T0 + STEP * 400, "y": 0}
    e = det.explain_one(silence)
    assert det.score_one(silence) >= ALERT
    assert e.direction == "down" and e.lower > 0 and e.expected > 15
    assert VolumeDetector(direction="up").score_one(silence) == 0.0  # warm-up; and up-only ignores drops
    up_only = learn(VolumeDetector(direction="up"), steady(400, 20))
    assert up_only.score_one(silence) < 0.01


@pytest.mark.parametrize("wrap", [False, True], ids=["winsorised", "alert_filter"])
def test_the_baseline_is_not_inflated_after_an_anomaly(wrap):
    det = VolumeDetector()
    model = AlertFilter(det, threshold=ALERT) if wrap else det
    learn(model, steady(400, 10))
    before = det.explain_one({"t": T0 + STEP * 400, "y": 10})
    learn(model, [{"t": T0 + STEP * (400 + i), "y": 300} for i in range(4)])
    after = det.explain_one({"t": T0 + STEP * 404, "y": 10})
    assert after.expected < before.expected + 2
    assert after.upper < before.upper + 6
    assert det.score_one({"t": T0 + STEP * 404, "y": 300}) >= ALERT


def test_values_use_a_student_t_and_a_symmetric_band():
    rng = np.random.default_rng(1)
    det = learn(VolumeDetector(), [{"y": float(v)} for v in rng.normal(50.0, 2.0, 500)])
    e = det.explain_one({"y": 50.5})
    assert not det._is_counts()
    assert e.lower < 50.5 < e.upper and abs((e.upper - e.expected) - (e.expected - e.lower)) < 1e-9
    assert det.score_one({"y": 80.0}) >= ALERT


def test_a_lasting_shift_becomes_the_new_normal():
    det = VolumeDetector()
    model = AlertFilter(det, threshold=ALERT, patience=8)
    learn(model, steady(400, 10))
    learn(model, steady(300, 40, seed=2, start=400))
    assert det.score_one({"t": T0 + STEP * 700, "y": 40}) < 2


def test_state_pickles_and_explanations_are_plain_floats():
    det = pickle.loads(pickle.dumps(learn(VolumeDetector(), steady(100, 5))))
    e = det.explain_one({"t": T0 + STEP * 100, "y": 5})
    assert all(type(v) is float for v in (e.expected, e.lower, e.upper, e.p_value, e.surprise))


def test_a_checkpoint_naming_the_warm_mean_by_its_old_name_still_loads():
    import pickle

    from server.detect.volume import WarmEWMean

    m = WarmEWMean(0.1)
    m.update(3.0)
    data = pickle.dumps(m, protocol=0)  # text opcodes: the class is named by a line of its own
    assert b"\nWarmEWMean\n" in data
    data = data.replace(b"\nWarmEWMean\n", b"\n_WarmEWMean\n")
    old = pickle.loads(data)
    assert isinstance(old, WarmEWMean) and old.get() == 3.0
