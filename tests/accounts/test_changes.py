"""The account-change test on constructed counts: what it flags, what it leaves alone, and its error rate
when nothing changed."""

from __future__ import annotations

import numpy as np
import pytest

from server.accounts.changes import dispersion, flag_changes, tails

WEEKS = 8


def tenant(rng: np.random.Generator, n: int = 120, day_cv: float = 0.3, growth: float = 1.0,
           change: dict[str, float] | None = None) -> tuple[dict, tuple]:
    """Accounts with log-normal sizes whose windows vary by a gamma factor (CV ``day_cv``); the current
    window is scaled by ``growth`` for everyone and by ``change[account]`` for the named ones."""
    sizes = rng.lognormal(1.0, 1.0, n)
    shape = 1 / day_cv ** 2
    counts = {}
    for i, size in enumerate(sizes):
        rates = size * rng.gamma(shape, 1 / shape, WEEKS + 1)
        rates[-1] *= growth * (change or {}).get(f"a{i}", 1.0)
        c = rng.poisson(rates)
        counts[f"a{i}"] = (int(c[-1]), [int(v) for v in c[:-1]])
    totals = (sum(x for x, _ in counts.values()), [sum(b[k] for _, b in counts.values()) for k in range(WEEKS)])
    return counts, totals


def test_a_small_accounts_surge_is_found_and_the_same_rise_in_a_big_account_is_not():
    base_small, base_big = [3, 2, 4, 3, 3, 2, 3, 4], [100, 95, 104, 98, 101, 97, 103, 99]
    calm = {f"c{i}": (5, [5, 6, 4, 5, 5, 6, 4, 5]) for i in range(40)}
    counts = {"small": (15, base_small), "big": (112, base_big), **calm}
    totals = (15 + 112 + 200, [sum(c[1][k] for c in counts.values()) for k in range(WEEKS)])
    report = flag_changes({"tickets": counts}, {"tickets": totals})
    assert [(f.account, f.direction) for f in report.flags] == [("small", "up")]
    assert report.flags[0].observed == 15 and 2.0 < report.flags[0].expected < 4.0
    assert report.tested["tickets"] == 42


def test_a_rise_of_the_whole_tenant_flags_no_more_than_a_calm_week():
    """Every account triples (an outage week): judged against the rest of the tenant, reports flag
    anything about as rarely as in a calm week (at most the FDR), where each account's own count alone
    would flag most of them."""
    rng = np.random.default_rng(3)
    tenants = [tenant(rng, growth=3.0) for _ in range(60)]
    calm = [tenant(rng) for _ in range(60)]

    def flagging(ts: list) -> float:
        return sum(bool(flag_changes({"tickets": c}, {"tickets": t}).flags) for c, t in ts) / len(ts)

    assert flagging(tenants) <= min(0.15, flagging(calm) + 0.05)
    alone = [sum(x > 2 * np.mean(b) + 3 * np.std(b) for x, b in c.values()) for c, _t in tenants]
    assert np.median(alone) > 20


def test_a_churning_account_and_a_surging_one_are_found_in_noisy_traffic():
    rng = np.random.default_rng(5)
    counts, totals = tenant(rng, change={})
    sizes = {a: sum(b) for a, (_x, b) in counts.items()}
    churn, surge = sorted(sizes, key=sizes.get)[-2:]  # the two largest: about 15-30 a window
    rng = np.random.default_rng(5)
    counts, totals = tenant(rng, change={churn: 0.1, surge: 4.0})
    report = flag_changes({"users": counts}, {"users": totals})
    found = {(f.account, f.direction) for f in report.flags}
    assert (churn, "down") in found and (surge, "up") in found
    assert len(found) <= 3


def test_when_nothing_changed_few_reports_flag_anything():
    """Benjamini-Hochberg under the complete null bounds the chance of any flag by the FDR (5%); with the
    over-dispersion learnt from the accounts' own past it holds on noisy traffic too."""
    rng = np.random.default_rng(11)
    reports = [flag_changes({"tickets": c}, {"tickets": t}) for c, t in (tenant(rng) for _ in range(120))]
    any_flag = sum(bool(r.flags) for r in reports) / len(reports)
    assert any_flag <= 0.10
    # The learnt window-to-window variation is the generator's (CV 0.3: c = 0.09).
    assert np.median([r.dispersion["tickets"] for r in reports]) == pytest.approx(0.09, abs=0.025)


def test_dispersion_is_one_for_poisson_windows_and_grows_with_extra_variance():
    rng = np.random.default_rng(2)
    poisson = {f"a{i}": (0, [int(v) for v in rng.poisson(20, WEEKS)]) for i in range(200)}
    totals = [sum(b[k] for _, b in poisson.values()) for k in range(WEEKS)]
    assert dispersion(poisson, totals) == pytest.approx(0.0, abs=0.01)
    noisy = {a: (0, [int(v) for v in rng.poisson(20 * rng.gamma(4, 1 / 4, WEEKS))]) for a in poisson}
    totals = [sum(b[k] for _, b in noisy.values()) for k in range(WEEKS)]
    # Gamma factors with CV 0.5: c = 0.25.
    assert dispersion(noisy, totals) == pytest.approx(0.25, abs=0.05)


@pytest.mark.parametrize("size", [3.0, 12.0, 60.0])
def test_tails_are_calibrated_on_gamma_poisson_windows(size):
    """An account of ``size`` a window whose rate varies by CV 0.3 (eight past windows, the rest of the
    tenant steady): the share of windows whose upper (lower) tail falls below a level is at most that
    level (conservative: the expected count's uncertainty is integrated over generously), and not far
    below it (the test keeps its power)."""
    rng = np.random.default_rng(int(size))
    counts = rng.poisson(size * rng.gamma(1 / 0.09, 0.09, (10_000, WEEKS + 1)))
    up, down = np.array([tails(int(c[-1]), c[:-1].sum() / WEEKS, 0.09, int(c[:-1].sum()), WEEKS)
                         for c in counts if c[:-1].sum() > 0]).T
    for level in (0.05, 0.01):
        assert 0.3 * level < (up < level).mean() < 1.2 * level
        assert (down < level).mean() < 1.2 * level
    assert (up < 0.002).mean() < 1.5 * 0.002


def test_thin_history_is_not_tested():
    counts = {"new": (9, [0]), "tiny": (1, [0, 1, 0, 1, 0, 0, 0, 0])}
    report = flag_changes({"tickets": counts}, {"tickets": (100, [90] * WEEKS)})
    assert report.tested["tickets"] == 0 and report.flags == []


def test_windows_before_the_tenant_started_are_not_history():
    """A tenant with two weeks of data asked about eight: the six empty windows are not counted as past
    windows (they would shrink the share's uncertainty for nothing)."""
    counts = {"a": (30, [0] * 6 + [5, 6]), **{f"b{i}": (5, [0] * 6 + [5, 5]) for i in range(20)}}
    totals = (130, [0] * 6 + [105, 106])
    started = flag_changes({"tickets": counts}, {"tickets": totals})
    trimmed = flag_changes({"tickets": {a: (x, b[6:]) for a, (x, b) in counts.items()}},
                           {"tickets": (130, [105, 106])})
    assert started.flags == trimmed.flags and [f.account for f in started.flags] == ["a"]
    assert started.flags[0].history == (5, 6)

