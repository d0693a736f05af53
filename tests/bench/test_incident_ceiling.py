"""The oracle that bounds what the incident replay's traffic allows: its null model and its scoring."""

from __future__ import annotations

import numpy as np
import pytest

from bench.incident_ceiling import best_within, day_posterior, oracle_alarms, speed_lines, sweep, window_null
from bench.incident_traffic import DAY_SHAPE, HOUR_SHAPE, Generator, Traffic
from tests.bench.test_incident_traffic import made_up_texts


def test_window_null_matches_the_generators_process():
    """Mean and variance of a window spanning midnight (hour slots of two days, the last one partial)
    against a simulation of the generator's gamma-Poisson counts."""
    slots = [(1.5, 0), (2.0, 0), (3.0, 1), (4.0, 1), (1.2, 1)]
    rng = np.random.default_rng(7)
    n = 400_000
    days = rng.gamma(DAY_SHAPE, 1 / DAY_SHAPE, (n, 2))
    total = np.zeros(n)
    for m, d in slots:
        total += rng.poisson(m * days[:, d] * rng.gamma(HOUR_SHAPE, 1 / HOUR_SHAPE, n))
    mean, var = window_null(slots)
    assert mean == pytest.approx(total.mean(), rel=0.01)
    assert var == pytest.approx(total.var(), rel=0.03)
    # Treating the two days as one would overstate the variance: the simulation tells them apart.
    _m, one_day = window_null([(m, 0) for m, _d in slots])
    assert one_day > total.var() * 1.05


def test_day_posterior_follows_the_conditional_mean_of_the_days_factor():
    """The day-level oracle's estimate of a day's factor from its earlier hours, against the simulated
    E[D | count] and Var[D | count] of the generator's gamma-Poisson process (ten hours of one expected
    customer each)."""
    rng = np.random.default_rng(11)
    n = 600_000
    d = rng.gamma(DAY_SHAPE, 1 / DAY_SHAPE, n)
    count = rng.poisson(d[:, None] * rng.gamma(HOUR_SHAPE, 1 / HOUR_SHAPE, (n, 10))).sum(axis=1)
    for c in (5, 10, 16, 25):
        mean, var = day_posterior(c, 10.0, 10.0)
        assert mean == pytest.approx(d[count == c].mean(), rel=0.02)
        assert var == pytest.approx(d[count == c].var(), rel=0.06)
    # Nothing expected before the window: the prior.
    assert day_posterior(0, 0.0, 0.0) == (1.0, 1.0 / DAY_SHAPE)


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Generator(made_up_texts(), seed=5, warmup_weeks=1, eval_weeks=1, per_week=1,
                     daily_volume=(300.0, 400.0), n_orgs=60).build()


def test_oracle_finds_what_stands_out_and_trades_alarms_for_recall(traffic):
    runs = [(traffic, oracle_alarms(traffic))]
    points = sweep(runs, thresholds=(1e-2, 1e-4, 1e-6, 1e-9))
    # Tighter thresholds never raise more false alarms nor find more incidents.
    for loose, tight in zip(points, points[1:]):
        assert tight.false_alarms <= loose.false_alarms
        assert sum(tight.found.values()) <= sum(loose.found.values())
    # A new intent's tickets and a burst of 10-20 customers within the hour are far outside the null.
    at = {p.threshold: p for p in points}[1e-6]
    assert at.found.get("new_topic") == 1
    assert at.found.get("burst") == 1
    # At a loose threshold ordinary traffic raises false alarms too: the sweep has something to trade.
    assert points[0].false_alarms > 0
    best = best_within(points, traffic.eval_weeks, budget=1.0)
    assert best is not None and best.false_alarms / traffic.eval_weeks <= 1.0


def test_alarms_carry_the_incidents_their_window_holds(traffic):
    alarms = oracle_alarms(traffic)
    labelled = {t.ticket_id: t.label for t in traffic.tickets if t.label is not None}
    assert labelled
    ids = {inc.id for inc in traffic.incidents}
    for a in alarms:
        assert a.labels <= ids
        assert 0.0 <= a.p <= 1.0
    # every evaluated ticket is tested once
    evaluated = [t for t in traffic.tickets if t.created_at >= traffic.eval_start]
    assert len(alarms) == len(evaluated)


def test_the_day_level_oracle_tests_the_same_tickets(traffic):
    plain, day = oracle_alarms(traffic), oracle_alarms(traffic, day_level=True)
    assert [(a.intent, a.ts) for a in plain] == [(a.intent, a.ts) for a in day]
    # It differs where a day ran above or below its prior, and stays in step with the plain null.
    ratio = np.array([max(a.p, 1e-300) for a in day]) / np.array([max(a.p, 1e-300) for a in plain])
    assert (ratio != 1.0).mean() > 0.5
    assert np.median(np.log10(ratio)) == pytest.approx(0.0, abs=0.3)


def test_a_least_number_of_customers_only_ever_delays_the_oracle(traffic):
    """Windows with fewer customers than the minimum are not tested: no ticket's smallest tail
    probability gets smaller, and some get larger (two customers of an unseen intent stand out)."""
    free, three = oracle_alarms(traffic), oracle_alarms(traffic, min_requesters=3)
    assert [a.ts for a in free] == [a.ts for a in three]
    assert all(b.p >= a.p for a, b in zip(free, three))
    assert any(b.p > a.p for a, b in zip(free, three))


def test_speed_lines_compare_on_the_incidents_both_found(traffic):
    runs = [(traffic, oracle_alarms(traffic))]
    best = best_within(sweep(runs, thresholds=(1e-6,)), traffic.eval_weeks, budget=100.0)
    at_least = best_within(sweep([(traffic, oracle_alarms(traffic, 3))], thresholds=(1e-6,)),
                           traffic.eval_weeks, budget=100.0)
    assert best is not None and best.delays
    minutes = {key: m for key, (_n, m) in best.delays.items()}
    # naive found the same incidents, each five times later, and one the oracle missed (ignored)
    assert min(minutes.values()) > 0
    naive = {key: 5.0 * m for key, m in minutes.items()}
    naive[(traffic.seed, 999)] = 1.0
    lines = speed_lines(traffic.eval_weeks, best, at_least, naive, minimum=3)
    first = next(line for line in lines if "any number of customers" in line)
    assert f"on the {len(minutes)} both" in first
    assert "**5.0x**" in first
    assert any("at least 3 customers" in line for line in lines)
