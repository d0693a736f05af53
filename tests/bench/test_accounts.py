"""The accounts benchmark's plumbing: what it injects, how it scores, and the real counts it reads."""

from __future__ import annotations

import numpy as np
import pytest

from bench.accounts import NAB, nab_days, own_z, score, simulated, week_over_week


def test_simulated_reports_carry_three_churns_and_three_surges_where_they_were_put():
    rng = np.random.default_rng(1)
    counts, truth, _outage = simulated(rng, accounts=200, weeks=8)
    assert len(counts) == 200 and all(len(base) == 8 for _x, base in counts.values())
    assert sorted(d for _a, d in truth) == ["down"] * 3 + ["up"] * 3
    for account, direction in truth:
        x, base = counts[account]
        mean = np.mean(base)
        assert (x < mean) if direction == "down" else (x > mean)


def test_score_counts_what_was_found_and_what_was_not_there():
    truth = {("a1", "down"), ("a2", "up")}
    assert score({("a1", "down"), ("a2", "down"), ("a3", "up")}, truth) == (1, 0, 2, 1)
    assert score(set(), truth) == (0, 0, 0, 0)


def test_the_two_rules_read_as_written():
    counts = {"double": (10, [3, 5]), "half": (2, [9, 6]), "small": (4, [0, 1]), "steady": (5, [5, 5, 6, 4])}
    assert week_over_week(counts) == {("double", "up"), ("half", "down")}
    assert own_z({"z": (30, [5, 6, 5, 4, 5]), "calm": (6, [5, 6, 5, 4, 5])}) == {("z", "up")}


@pytest.mark.skipif(not NAB.exists(), reason="the shared NAB data is beside the repository")
def test_nab_days_are_whole_days_of_ten_companies_with_their_labels():
    series, days, marked = nab_days()
    assert len(series) == 10 and all(len(s) == len(days) for s in series.values())
    assert all((b - a).days == 1 for a, b in zip(days, days[1:]))
    assert sum(len(m) for m in marked.values()) >= 25
