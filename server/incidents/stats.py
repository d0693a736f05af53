"""Tail probabilities and bands of counts under a learnt baseline (pure functions).

Counts in a window are modelled as negative binomial with mean ``mu`` and variance ``phi * mu``
(``phi >= 1`` the over-dispersion the baseline learnt; ``phi == 1`` is Poisson). scipy's ``nbdtr``
truncates a real-valued shape, so the tails use the regularised incomplete beta directly.

Examples
--------
>>> f"{upper_tail(5, 0.2, 1.0):.2e}"       # Poisson: P(N >= 5 | 0.2)
'2.26e-06'
>>> upper_tail(0, 3.0, 2.0), round(lower_tail(0, 12.0, 1.0), 8)
(1.0, 6.14e-06)
>>> band(4.0, 1.0, 0.99)
(0, 10)
"""

from __future__ import annotations

import math

from scipy import special

#: Smallest mean a window is tested against (a topic never seen at this hour still has some chance).
MIN_MEAN = 1e-3


def _shape(mu: float, phi: float) -> tuple[float, float] | None:
    """Negative binomial (r, p) for mean ``mu`` and variance ``phi * mu``; None means Poisson."""
    if phi <= 1.0001:
        return None
    r = mu / (phi - 1.0)
    return r, r / (r + mu)


def upper_tail(k: float, mu: float, phi: float) -> float:
    """P(N >= k)."""
    k = math.ceil(k)
    if k <= 0:
        return 1.0
    mu = max(mu, MIN_MEAN)
    shape = _shape(mu, phi)
    if shape is None:
        return float(special.pdtrc(k - 1, mu))
    r, p = shape
    return float(special.betainc(k, r, 1.0 - p))


def lower_tail(k: float, mu: float, phi: float) -> float:
    """P(N <= k)."""
    k = math.floor(k)
    if k < 0:
        return 0.0
    mu = max(mu, MIN_MEAN)
    shape = _shape(mu, phi)
    if shape is None:
        return float(special.pdtr(k, mu))
    r, p = shape
    return float(special.betainc(r, k + 1.0, p))


def band(mu: float, phi: float, coverage: float = 0.99) -> tuple[int, int]:
    """Central interval holding ``coverage`` of the count's probability: (lower, upper)."""
    mu = max(mu, MIN_MEAN)
    q = (1.0 + coverage) / 2.0
    shape = _shape(mu, phi)
    if shape is None:
        lo, hi = special.pdtrik(1.0 - q, mu), special.pdtrik(q, mu)
    else:
        r, p = shape
        lo, hi = special.nbdtrik(1.0 - q, r, p), special.nbdtrik(q, r, p)
    lo = 0.0 if math.isnan(lo) else lo
    hi = mu if math.isnan(hi) else hi
    return max(0, math.floor(lo)), max(0, math.ceil(hi))


def surprise(p: float) -> float:
    """-log10(p): 2 means a one-in-a-hundred event."""
    return -math.log10(max(p, 1e-300))
