"""Deflection arithmetic: ticket rates of nudged and held-out sessions, and their difference with a
confidence interval (pure code).

Each rate gets a Wilson score interval; the difference gets Newcombe's hybrid score interval
(Newcombe 1998, method 10), which stays inside [-1, 1] and behaves with small counts and rates near 0,
where the plain Wald interval does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion.

    Examples
    --------
    >>> [round(v, 4) for v in wilson(56, 70)]
    [0.6918, 0.877]
    >>> wilson(0, 0) is None
    True
    """
    if n <= 0:
        return None
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval of ``x1/n1 - x2/n2``.

    Examples
    --------
    >>> [round(v, 4) for v in newcombe(56, 70, 48, 80)]  # Newcombe (1998), table II, example (a)
    [0.0524, 0.3339]
    """
    a, b = wilson(x1, n1, confidence), wilson(x2, n2, confidence)
    if a is None or b is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lower = d - math.sqrt((p1 - a[0]) ** 2 + (b[1] - p2) ** 2)
    upper = d + math.sqrt((a[1] - p1) ** 2 + (p2 - b[0]) ** 2)
    return max(-1.0, lower), min(1.0, upper)


@dataclass(frozen=True)
class Arm:
    sessions: int
    tickets: int

    @property
    def rate(self) -> float | None:
        return self.tickets / self.sessions if self.sessions else None

    def as_dict(self) -> dict[str, object]:
        ci = wilson(self.tickets, self.sessions)
        return {"sessions": self.sessions, "tickets": self.tickets,
                "rate": None if self.rate is None else round(self.rate, 4),
                "interval": None if ci is None else [round(ci[0], 4), round(ci[1], 4)]}


def compare(nudged: Arm, holdout: Arm) -> dict[str, object]:
    """Both arms, the difference of rates (nudged minus holdout) with its interval, and one sentence.

    Examples
    --------
    >>> r = compare(Arm(400, 40), Arm(100, 20))
    >>> r["difference"], r["interval"]
    (-0.1, [-0.1925, -0.0255])
    >>> r["sentence"].split(": ")[1]
    '10.0 points fewer (95% interval 2.6 to 19.2 points fewer).'
    """
    diff = None if nudged.rate is None or holdout.rate is None else nudged.rate - holdout.rate
    ci = newcombe(nudged.tickets, nudged.sessions, holdout.tickets, holdout.sessions)
    return {"nudged": nudged.as_dict(), "holdout": holdout.as_dict(),
            "difference": None if diff is None else round(diff, 4),
            "interval": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
            "sentence": _sentence(nudged, holdout, diff, ci)}


def _points(v: float) -> str:
    return f"{abs(v) * 100:.1f}"


def _sentence(nudged: Arm, holdout: Arm, diff: float | None, ci: tuple[float, float] | None) -> str:
    if diff is None or ci is None or nudged.rate is None or holdout.rate is None:
        return ("Not enough sessions yet: the comparison needs nudged and held-out sessions whose 24 hours "
                "have passed.")
    head = (f"Nudged sessions wrote a ticket within 24 h {nudged.rate * 100:.1f}% of the time, held-out ones "
            f"{holdout.rate * 100:.1f}%: ")
    if ci[1] < 0:
        return head + f"{_points(diff)} points fewer (95% interval {_points(ci[1])} to {_points(ci[0])} points fewer)."
    if ci[0] > 0:
        return head + f"{_points(diff)} points more (95% interval {_points(ci[0])} to {_points(ci[1])} points more)."
    return head + (f"no clear difference yet (95% interval {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f} points).")
