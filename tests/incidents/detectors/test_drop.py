"""The drop test: a channel going silent, against its own baseline or its share of all tickets."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from server.incidents.detectors.drop import _share_band, _share_lower_tail
from server.incidents.engine import Engine
from tests.incidents.engine_data import DAYS, T0, background, opened, run


def test_a_silent_channel_is_a_drop():
    start = T0 + timedelta(days=DAYS)
    web_heavy = ("web", "web", "email", "chat")  # the web form carries half the tickets
    engine = run(Engine(), background(float(DAYS), seed=3, channels=web_heavy))
    # the web form breaks at 09:00: no web tickets for the rest of the day
    later = [o for o in background(1.0, seed=11, start=start, channels=web_heavy)
             if not (o.segments["channel"] == "web" and o.at >= start + timedelta(hours=9))]
    run(engine, later)
    drops = opened(engine, kind="drop")
    assert [i.series for i in drops] == ["channel:web"]
    assert start + timedelta(hours=9) < drops[0].detected_at <= start + timedelta(hours=14)  # within five hours
    assert drops[0].direction == "down" and drops[0].evidence["observed"] < drops[0].evidence["lower"]


def test_a_small_channel_going_silent_is_found_from_its_share_of_all_tickets():
    # api carries a fifth of the tickets: too few for its own hourly baseline to tell a silence from a
    # quiet spell soon, but against the day's other tickets its absence is plain.
    start = T0 + timedelta(days=DAYS)
    mix = ("web",) * 4 + ("email",) * 3 + ("chat", "api", "api")
    engine = run(Engine(), background(float(DAYS), seed=3, channels=mix))
    later = [o for o in background(1.0, seed=11, start=start, channels=mix)
             if not (o.segments["channel"] == "api" and o.at >= start + timedelta(hours=10))]
    run(engine, later)
    drops = opened(engine, kind="drop")
    assert [i.series for i in drops] == ["channel:api"]
    assert start + timedelta(hours=10) < drops[0].detected_at <= start + timedelta(hours=14)  # its own baseline: never
    assert engine.series["channel:api"].mix() == pytest.approx(0.2, abs=0.03)
    # its evidence band is the count expected among the window's tickets: a silence lies below it
    ev = drops[0].evidence
    assert ev["observed"] == 0 < ev["lower"] <= ev["expected"] <= ev["upper"]


def test_share_tail_and_band_are_the_beta_binomials():
    from scipy import stats

    rng = np.random.default_rng(5)
    for _ in range(200):
        n_all = int(rng.integers(1, 300))
        share, rho = float(rng.uniform(0.01, 0.9)), float(rng.uniform(0.002, 0.4))
        a, b = share * (1 / rho - 1), (1 - share) * (1 / rho - 1)
        n = int(rng.integers(0, n_all + 1))
        assert _share_lower_tail(n, n_all, share, rho) == pytest.approx(stats.betabinom.cdf(n, n_all, a, b), rel=1e-9, abs=1e-300)
        assert _share_band(n_all, share, rho) == (int(stats.betabinom.ppf(0.005, n_all, a, b)),
                                                  int(stats.betabinom.ppf(0.995, n_all, a, b)))
