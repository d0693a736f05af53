"""The drop test (a part of :class:`~server.incidents.engine.Engine`).

Every 15 minutes of event time: tickets in the trailing 1 h and 3 h of a channel, a form or all tickets,
lower tail, tested only where at least ``drop_min_expected`` were expected; a channel or a form is also
tested against its usual share of all the window's tickets (beta-binomial), so a silent channel on a busy
day is plain whatever the day's volume.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import special

from server.incidents.state import HOUR, Alert, Describe, _Series
from server.incidents.stats import band, lower_tail

DROP_WINDOWS = (3600.0, 10800.0)


class DropTest:
    """Drops and silences of channels, forms and all tickets. A part of
    :class:`~server.incidents.engine.Engine`."""

    def _test_drop(self, series: _Series, now: float, describe: Describe) -> None:
        """Fewer tickets than expected: the series' own baseline (lower tail) and, for a channel or a
        form, its share of all tickets in the same window (beta-binomial lower tail given the window's
        total: a silent channel on a busy day is plain, whatever the day's volume)."""
        if not self.live or series.baseline.n_learnt < 7 * 24:
            return
        total = self.series.get("all") if series.key != "all" and series.mix_den > 0 else None
        best = None
        for width in DROP_WINDOWS:
            mu, phi = self.forecast(series, now - width, now)
            n = len(series.in_window(now, width)) if series.key.startswith("topic:") else self._count_since(series, now - width, now)
            tests: list[tuple[float, float, Callable[[], tuple[int, int]]]] = []
            if mu >= self.settings.drop_min_expected:
                tests.append((lower_tail(n, mu, phi), mu, (lambda m=mu, f=phi: band(m, f))))
            if total is not None:
                n_all, share, rho = self._count_since(total, now - width, now), series.mix(), series.mix_rho()
                if n_all * share >= self.settings.drop_min_expected:
                    tests.append((_share_lower_tail(n, n_all, share, rho), n_all * share,
                                  (lambda a=n_all, s=share, r=rho: _share_band(a, s, r))))
            if not tests:
                continue
            self._count_test("drop", series.key, width, now)
            p, m, make_band = min(tests, key=lambda t: t[0])
            p = min(1.0, p * len(tests))
            if best is None or p < best[0]:
                best = (p, width, n, m, make_band)
        if best is None:
            return
        p, width, n, mu, make_band = best
        p = min(1.0, p * len(DROP_WINDOWS))
        if p <= self.alpha("drop", series.key):
            lo, hi = make_band()
            self._alert(Alert("drop", series.key, p, "down", width, n, mu, lo, hi, [], []), now, describe)

    def _count_since(self, series: _Series, t0: float, t1: float) -> int:
        """Tickets of a non-topic series in (t0, t1]: closed hours (pro rata) plus the open hour."""
        total = 0.0
        for start, tickets, _who, *_ in reversed(series.history):
            if start + HOUR <= t0:
                break
            overlap = min(start + HOUR, t1) - max(start, t0)
            if overlap > 0:
                total += tickets * overlap / HOUR
        if series.bucket < t1:
            total += series.tickets
        return int(round(total))


def _share_pmf(upto: int, n_all: int, share: float, rho: float) -> np.ndarray:
    """P(k of ``n_all`` tickets), k = 0..upto, when each is the series' with probability ``share``, the
    share itself varying hour to hour with intra-class correlation ``rho`` (beta-binomial). Summed
    directly: scipy.stats.betabinom.cdf gives the same to rounding (tests/incidents/detectors/test_drop.py
    checks) at about 3x the cost per call (65 against 20 microseconds; a frozen scipy distribution per
    call made the whole engine 1.6x slower)."""
    kappa = 1.0 / rho - 1.0
    share = min(max(share, 1e-6), 1.0 - 1e-6)
    a, b = share * kappa, (1.0 - share) * kappa
    k = np.arange(upto + 1, dtype=float)
    log_pmf = (special.gammaln(n_all + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n_all - k + 1.0)
               + special.betaln(k + a, n_all - k + b) - special.betaln(a, b))
    return np.exp(log_pmf)


def _share_lower_tail(n: int, n_all: int, share: float, rho: float) -> float:
    """P(at most ``n`` of ``n_all`` tickets) under the beta-binomial of ``_share_pmf``.

    >>> f"{_share_lower_tail(0, 100, 0.15, 0.001):.1e}", f"{0.85 ** 100:.1e}"  # nearly binomial
    ('2.0e-07', '8.7e-08')
    >>> f"{_share_lower_tail(0, 100, 0.15, 0.01):.1e}", round(_share_lower_tail(15, 100, 0.15, 0.01), 2)
    ('1.6e-05', 0.57)
    """
    if n < 0:
        return 0.0
    if n >= n_all:
        return 1.0
    return float(min(1.0, _share_pmf(n, n_all, share, rho).sum()))


def _share_band(n_all: int, share: float, rho: float, coverage: float = 0.99) -> tuple[int, int]:
    """Central interval holding ``coverage`` of the series' count among ``n_all`` tickets (the evidence
    band of a share-based drop: the count expected given the window's total, not the volume forecast).

    >>> _share_band(100, 0.15, 0.01)  # scipy.stats.betabinom.ppf gives 4 and 30 too
    (4, 30)
    """
    cdf = np.cumsum(_share_pmf(n_all, n_all, share, rho))
    q = (1.0 - coverage) / 2.0
    lo = int(np.searchsorted(cdf, q))
    hi = int(np.searchsorted(cdf, 1.0 - q))
    return lo, min(hi, n_all)
