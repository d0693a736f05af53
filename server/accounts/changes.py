"""Which accounts changed: one account's tickets or product usage this window against its own past.

An account is judged against its own share of the tenant, not against its own count alone: when the
whole tenant is busier (a launch, an outage, a holiday) every account moves with it, and that is not
news about any one account. For each account and signal:

- ``x``: its count in the current window (the last ``days`` days), ``base``: its counts in the ``weeks``
  windows of the same length before (so each holds the same days of the week);
- ``total_x`` and ``total_base``: the tenant's counts in the same windows.

With ``n = x + sum(base)`` and ``p0 = total_x / (total_x + sum(total_base))``, an account whose share did
not change has ``x ~ Binomial(n, p0)`` (the conditional test of two Poisson rates). Accounts' weeks
vary more than that (a customer's busy month): their rates move from window to window by a factor whose
squared coefficient of variation ``c`` is learnt from the tenant's accounts' past windows (method of
moments, pooled), and the binomial is widened to a beta-binomial with the variance that adds, which
grows with the account's size (a big account's busy week is a large count, not a surprising one).

Each (account, signal) gets a two-sided p-value; the Benjamini-Hochberg procedure over every test of
the report keeps the expected share of false flags among the flags at ``fdr`` (5% by default), however
many accounts there are. A flag also needs the change to matter: at least ``min_ratio`` times the
expected count up, or at most ``1 / min_ratio`` of it down, and a count of at least ``min_count`` on the
side that rose. ``bench/accounts.py`` measures recall and false flags against a week-over-week rule.

Examples
--------
>>> base = [[10, 12, 9, 11]] + [[5, 5, 6, 4]] * 30
>>> totals = [sum(b[k] for b in base) for k in range(4)]
>>> counts = {"big": (40, base[0])} | {f"a{i}": (5, b) for i, b in enumerate(base[1:])}
>>> report = flag_changes({"tickets": counts}, {"tickets": (40 + 5 * 30, totals)})
>>> [(f.account, f.direction) for f in report.flags], report.tested
([('big', 'up')], {'tickets': 31})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from scipy.stats import betabinom, binom, false_discovery_control

#: Least past windows an account needs before it is judged (and before it counts towards ``c``).
MIN_HISTORY = 2
#: Least mean count per past window for an account to count towards the tenant's ``c``.
DISPERSION_MIN_MEAN = 2.0
#: Least ``n`` (this window plus the past ones) for an account to be tested at all.
MIN_N = 4


@dataclass(frozen=True)
class Flag:
    """One account whose signal changed."""

    account: str
    signal: str
    direction: str
    observed: int
    expected: float
    p_value: float
    q_value: float
    history: tuple[int, ...] = field(default=())

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else math.inf


@dataclass
class Report:
    """The flags, how many accounts each signal tested, and each signal's learnt ``c`` (see :func:`dispersion`)."""

    flags: list[Flag]
    tested: dict[str, int]
    dispersion: dict[str, float]


def dispersion(counts: Mapping[str, tuple[int, Sequence[int]]], totals: Sequence[int]) -> float:
    """The squared coefficient of variation of accounts' window-to-window rates beyond counting noise
    (0: Poisson counts around a steady share), pooled over the tenant's accounts by the method of moments.

    For each account with at least :data:`MIN_HISTORY` past windows and a mean of
    :data:`DISPERSION_MIN_MEAN` a window, its expected count in window ``k`` is ``e_k = total_k * share``;
    ``c = K / (K - 1) * sum((x_k - e_k)^2 - e_k) / sum(e_k^2)`` over all of them (the factor corrects for
    the share being estimated from the same windows), and never below 0.
    """
    num = den = 0.0
    for _x, base in counts.values():
        k = min(len(base), len(totals))
        if k < MIN_HISTORY or sum(base[:k]) < DISPERSION_MIN_MEAN * k:
            continue
        t = sum(totals[:k])
        if t <= 0:
            continue
        share = sum(base[:k]) / t
        for i in range(k):
            e = totals[i] * share
            num += (base[i] - e) ** 2 * k / (k - 1) - e
            den += e * e
    return max(0.0, num / den) if den > 0 else 0.0


def widening(cv2: float, expected: float, n: int, p0: float, windows: int) -> float:
    """An account's ``phi``: its current window varies by ``cv2 * e^2`` beyond counting noise (``e`` the
    count its past share predicts) and its past share by about ``cv2 * e^2 / windows``; their sum as a
    multiple of the binomial variance. (``e``, not ``n * p0``: a surge in the window must not widen its
    own test.)"""
    if n <= 1 or cv2 <= 0:
        return 1.0
    p0 = min(max(p0, 1e-9), 1 - 1e-9)
    return 1.0 + cv2 * (1.0 + 1.0 / windows) * expected * expected / (n * p0 * (1.0 - p0))


def tails(x: int, n: int, p0: float, phi: float) -> tuple[float, float]:
    """P(X >= x) and P(X <= x) for ``X`` binomial(n, p0) widened to variance ``phi`` times the binomial's
    (a beta-binomial)."""
    p0 = min(max(p0, 1e-9), 1 - 1e-9)
    rho = (phi - 1.0) / (n - 1.0) if n > 1 and phi > 1.0 else 0.0
    if rho <= 1e-9:
        return float(binom.sf(x - 1, n, p0)), float(binom.cdf(x, n, p0))
    rho = min(rho, 0.99)
    s = 1.0 / rho - 1.0
    return float(betabinom.sf(x - 1, n, p0 * s, (1.0 - p0) * s)), float(betabinom.cdf(x, n, p0 * s, (1.0 - p0) * s))


def flag_changes(signals: Mapping[str, Mapping[str, tuple[int, Sequence[int]]]],
                 totals: Mapping[str, tuple[int, Sequence[int]]], *, fdr: float = 0.05,
                 min_ratio: float = 1.5, min_count: int = 3) -> Report:
    """The accounts whose share of a signal changed, most significant first.

    ``signals[name][account] = (x, base)`` and ``totals[name] = (total_x, total_base)``, the past windows
    oldest first. Every tested (account, signal) counts in the Benjamini-Hochberg procedure.
    """
    tests: list[tuple[str, str, int, float, float, str, tuple[int, ...]]] = []
    tested: dict[str, int] = {}
    learnt: dict[str, float] = {}
    for name, counts in signals.items():
        total_x, total_base = totals[name]
        cv2 = learnt[name] = dispersion(counts, total_base)
        tested[name] = 0
        for account, (x, base) in counts.items():
            k = min(len(base), len(total_base))
            past, past_total = sum(base[:k]), sum(total_base[:k])
            n = x + past
            if k < MIN_HISTORY or n < MIN_N or past_total <= 0 or total_x <= 0:
                continue
            p0 = total_x / (total_x + past_total)
            expected = past * total_x / past_total
            upper, lower = tails(x, n, p0, widening(cv2, expected, n, p0, k))
            direction = "up" if x > expected else "down"
            p = min(1.0, 2.0 * (upper if direction == "up" else lower))
            tests.append((account, name, x, expected, p, direction, tuple(base[:k])))
            tested[name] += 1
    q_values = [float(q) for q in false_discovery_control([t[4] for t in tests])] if tests else []
    flags = []
    for (account, name, x, expected, p, direction, history), q in zip(tests, q_values):
        if q > fdr:
            continue
        if direction == "up" and (x < min_count or x < min_ratio * expected):
            continue
        if direction == "down" and (expected < min_count or x > expected / min_ratio):
            continue
        flags.append(Flag(account, name, direction, x, expected, p, q, history))
    flags.sort(key=lambda f: (f.p_value, f.account, f.signal))
    return Report(flags, tested, learnt)
