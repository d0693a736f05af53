"""The friction false-alarm benchmark: its baseline really is the old statistics, and its interval is exact."""

from __future__ import annotations

import pytest
from river import stats

from bench.friction_quiet import RiverBaseline, poisson_interval, run
from server.widget.detectors import HOUR, PageFrictionDetector, WarmEWMean

T0 = 1_800_000_000.0 - 1_800_000_000.0 % HOUR


def _learn(det: PageFrictionDetector, counts: list[int]) -> float:
    """Feed hourly counts (the first hour starting mid-hour, as a series does) and return the learnt mean."""
    for h, n in enumerate(counts):
        for i in range(n):
            det.observe("/p", "failed_request", f"s{h}-{i}", None, T0 + h * HOUR + 1800 + i)
    det.observe("/p", "failed_request", "last", None, T0 + len(counts) * HOUR + 1)
    return det.series[("/p", "failed_request")].mean.get()


def test_the_baseline_learns_from_the_first_partial_hour_with_rivers_statistics():
    counts = [1] + [6] * 10
    base, product = RiverBaseline(warmup_hours=100), PageFrictionDetector(warmup_hours=100)
    base_mean, product_mean = _learn(base, counts), _learn(product, counts)
    assert isinstance(base.series[("/p", "failed_request")].mean, stats.EWMean)
    assert isinstance(product.series[("/p", "failed_request")].mean, WarmEWMean)
    assert product_mean == pytest.approx(6.0)  # the partial first hour left out, the rest averaged
    assert base_mean < 3.0  # the first hour still weighs most


def test_poisson_interval_is_the_exact_one():
    assert poisson_interval(0) == (0.0, pytest.approx(3.689, abs=1e-3))
    lo, hi = poisson_interval(14)
    assert lo == pytest.approx(7.654, abs=1e-3) and hi == pytest.approx(23.490, abs=1e-3)


def test_run_counts_alarms_and_tested_weeks_per_detector():
    res = run(seeds=1, hours=30, warmup=24, sessions_per_hour=720)
    for r in res.values():
        assert r["tested_weeks"] == pytest.approx(5 / 168)
        assert r["pages"] <= r["alarms"]
