"""The real-volume noise estimator: it must recover the noise it is given, on both sides of the comparison."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from bench.traffic_noise import hourly_counts, noise_stats, twin_counts

START = datetime(2026, 3, 2)


def _hours(n_days: int) -> list[datetime]:
    return [START + timedelta(hours=h) for h in range(24 * n_days)]


def test_hourly_counts_keeps_complete_hours_outside_the_windows():
    rows = [(START + timedelta(minutes=5 * k), 1.0) for k in range(12 * 5)]  # five full hours
    rows = [r for r in rows if r[0] != START + timedelta(hours=3, minutes=10)]  # hour 3 loses a bucket
    window = [(START + timedelta(hours=1, minutes=20), START + timedelta(hours=1, minutes=20))]
    hours, counts = hourly_counts(rows, window)
    assert hours == [START, START + timedelta(hours=2), START + timedelta(hours=4)]
    assert counts.tolist() == [12.0, 12.0, 12.0]


@pytest.mark.parametrize("shape", [4.0, 8.0, 25.0])
def test_the_estimator_recovers_the_hour_factors_cv_under_day_and_hour_of_day_structure(shape):
    hours = _hours(56)
    rng = np.random.default_rng(3)
    counts = np.median([noise_stats(hours, twin_counts(hours, 60.0, rng, hour_shape=shape))["hour_cv"]
                        for _ in range(5)])
    # A day's level fitted from its own 24 hours absorbs a little of the hour noise (1/24 of its variance).
    assert counts == pytest.approx(np.sqrt(1 / shape), rel=0.1)


def test_lag_one_correlation_tells_persistent_surges_from_independent_hours():
    hours = _hours(56)
    rng = np.random.default_rng(4)
    independent = noise_stats(hours, twin_counts(hours, 200.0, rng))
    log_factor = np.zeros(len(hours))
    for i in range(1, len(hours)):  # AR(1) hour factor, correlation 0.6
        log_factor[i] = 0.6 * log_factor[i - 1] + rng.normal(0, 0.3)
    persistent = noise_stats(hours, rng.poisson(200.0 * np.exp(log_factor)).astype(float))
    assert abs(independent["lag1"]) < 0.1
    assert persistent["lag1"] > 0.4


def test_surges_are_hours_at_three_times_their_expectation():
    hours = _hours(28)
    rng = np.random.default_rng(5)
    counts = rng.poisson(100.0, len(hours)).astype(float)
    assert noise_stats(hours, counts)["surge_share"] == 0.0
    counts[[30, 200, 400]] = 400.0
    assert noise_stats(hours, counts)["surge_share"] == pytest.approx(3 / len(hours))
