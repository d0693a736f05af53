"""Which accounts changed: one account's tickets or product usage this window against its own past.

An account is judged against its own share of the tenant, not against its own count alone: when the
whole tenant is busier (a launch, an outage, a holiday) every account moves with it, and that is not
news about any one account. For each account and signal:

- ``x``: its count in the current window (the last ``days`` days), ``base``: its counts in the ``weeks``
  windows of the same length before (so each holds the same days of the week);
- ``total_x`` and ``total_base``: the tenant's counts in the same windows.

The account is compared with the rest of the tenant (the totals less its own counts, so that a large
account's own surge does not raise its expectation, nor lower everyone else's): if it moved as the rest
did, it would have ``e = sum(base) * rest_x / sum(rest_base)`` in the window. Accounts' windows vary
more than counting noise (a customer's busy month): their rates move from window to window by a factor
whose squared coefficient of variation ``c`` is learnt from the tenant's accounts' past windows (method
of moments, pooled). ``x`` is then tested against gamma-Poisson counts around the account's true mean,
itself known only through ``e`` and integrated over (see :func:`tails`): right-skewed as such counts
are, wider for a big account (its busy week is a large count, not a surprising one) and for one with
little history.

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
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
from scipy import special
from scipy.stats import false_discovery_control

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


#: Quadrature nodes over the uncertainty of an account's expected count.
NODES = 40
#: Beyond this shape the expected count's uncertainty is folded into the count's variance (its relative
#: spread is under 8%; the quadrature's weights overflow a little above it).
EXACT_SHAPE = 150.0


def _nb_tails(x: int, mu: np.ndarray, cv2: float) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= x) and P(X <= x) for gamma-Poisson counts with means ``mu`` and rate CV^2 ``cv2``."""
    mu = np.maximum(mu, 1e-9)
    if cv2 <= 1e-9:
        return (special.pdtrc(x - 1, mu) if x > 0 else np.ones_like(mu)), special.pdtr(x, mu)
    r = 1.0 / cv2
    p = r / (r + mu)
    upper = special.betainc(x, r, 1.0 - p) if x > 0 else np.ones_like(mu)
    return upper, special.betainc(r, x + 1.0, p)


@lru_cache(maxsize=4096)
def _quadrature(shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Laguerre nodes and normalised weights for a gamma of this shape (an account's shape depends
    only on its past count within one report, so most are repeats)."""
    nodes, weights = special.roots_genlaguerre(NODES, shape - 1.0)
    return nodes, weights / weights.sum()


def tails(x: int, expected: float, cv2: float, past: int, windows: int) -> tuple[float, float]:
    """P(X >= x) and P(X <= x) for the account's count in the window if it moved as the rest did.

    The window's count is gamma-Poisson around the account's true mean (rate CV^2 ``cv2``). That mean is
    known only through ``expected``, read from ``past`` counts over ``windows`` windows: ``expected`` over
    the true mean is about gamma with mean 1 and relative variance ``1/past + cv2/windows``, so the true
    mean is ``expected`` times the inverse of such a gamma, integrated over by Gauss-Laguerre quadrature.
    A low past makes a high count less surprising, and the upper tail heavier than the lower, as for a
    ratio of counts. On simulated accounts the tails are conservative (``tests/accounts``).
    """
    shape = 1.0 / (1.0 / max(past, 1) + cv2 / windows)
    if shape > EXACT_SHAPE:
        up, down = _nb_tails(x, np.array([expected]), cv2 + 1.0 / shape)
        return float(up[0]), float(down[0])
    shape = float(f"{shape:.4g}")  # to four digits: the cached quadratures serve every account of that past
    nodes, weights = _quadrature(shape)
    up, down = _nb_tails(x, expected * shape / nodes, cv2)
    return float(np.dot(weights, up)), float(np.dot(weights, down))


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
        # Windows before the tenant's first count of this signal are not history (it had not started yet).
        first = next((i for i, t in enumerate(total_base) if t > 0), len(total_base))
        total_base = total_base[first:]
        counts = {a: (x, list(base)[first:]) for a, (x, base) in counts.items()}
        cv2 = learnt[name] = dispersion(counts, total_base)
        tested[name] = 0
        for account, (x, base) in counts.items():
            k = min(len(base), len(total_base))
            past = sum(base[:k])
            rest_x, rest_past = total_x - x, sum(total_base[:k]) - past  # the rest of the tenant
            n = x + past
            if k < MIN_HISTORY or n < MIN_N or past <= 0 or rest_past <= 0 or rest_x <= 0:
                continue
            expected = past * rest_x / rest_past
            upper, lower = tails(x, expected, cv2, past, k)
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
