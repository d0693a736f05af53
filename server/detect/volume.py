"""Streaming volume detector: a seasonal, outlier-robust baseline with calibrated tail probabilities.

One ``VolumeDetector`` watches one series sampled at (roughly) regular intervals: tickets per topic per
5/15/60 minutes, or any value stream. Each point ``x`` is a dict carrying the value (``x["y"]``) and,
optionally, its event time (``x["t"]``: a ``datetime`` or epoch seconds); the wall clock is never read.

The expected value is ``level + hour_of_day[h] + day_of_week[d]``, learnt online:

- ``level`` is an exponentially weighted mean of the deseasonalised value (warm-started, see ``WarmEWMean``);
- the hour-of-day profile switches on once the stream spans ``season_days`` days, the day-of-week
  profile once it spans two weeks. Each slot is an exponentially weighted mean whose rate depends on how
  often the slot is visited (the sampling interval), which river's fixed-rate ``EWMean`` cannot express,
  so the 31 slots are two small numpy arrays here;
- the residual scale is a warm-started exponentially weighted mean of squared residuals (values) or of squared residuals over the
  expected count (counts: an over-dispersion factor, so a busy hour gets a wider band than a quiet one).

Robustness: every update is winsorised, the residual being clipped to ``clip`` scale units before any
statistic sees it, so a spike moves the baseline by at most ``clip`` standard deviations times the
learning rate. Wrapping the detector in :class:`server.detect.threshold.AlertFilter` also keeps alerted
points out of the baseline altogether.

Scores: counts (non-negative integers, detected automatically) are tested with a negative binomial of
the expected mean and the learnt dispersion (Poisson when there is none); values with a Student-t on the
robust scale. ``score_one`` returns the surprise ``-log10(p)`` of the chosen tail(s): 2 means a 1-in-100
event under the baseline. ``explain_one`` gives expected value, band, p-value and direction.

Examples
--------
>>> from datetime import datetime, timedelta
>>> det = VolumeDetector(direction="up")
>>> t0 = datetime(2026, 1, 5)
>>> for i in range(200):
...     det.learn_one({"t": t0 + timedelta(minutes=15 * i), "y": 4 + i % 3})
>>> spike = {"t": t0 + timedelta(minutes=15 * 200), "y": 25}
>>> det.score_one(spike) > 5
True
>>> e = det.explain_one(spike)
>>> e.direction, round(e.expected, 1), e.p_value < 1e-5
('up', 5.1, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from river import base, stats
from scipy import special

from .timing import event_time

__all__ = ["VolumeDetector", "Explanation"]

LOG10 = math.log(10.0)


@dataclass(frozen=True)
class Explanation:
    """The evidence behind one score: observed against expected and its band, with the tail probability."""

    observed: float
    expected: float
    lower: float
    upper: float
    p_value: float
    direction: str
    surprise: float


def _rate(halflife: float) -> float:
    return 1.0 - 0.5 ** (1.0 / max(halflife, 1e-9))


class WarmEWMean:
    """Exponentially weighted mean that is a plain mean until it has seen about 1/rate values.

    river's ``stats.EWMean`` starts from its first value, which then dominates for about one half-life
    (a long-memory scale starting from one odd residual stays wrong for hundreds of points; with a rate
    of 0.02 the first value still weighs 82% after ten); hence this.

    >>> m = WarmEWMean(0.02)
    >>> for x in (2, 10, 2, 10):
    ...     m.update(x)
    >>> m.get()
    6.0
    """

    def __init__(self, rate: float):
        self.fading_factor = rate
        self.n = 0
        self.mean = 0.0

    def update(self, x: float) -> None:
        self.n += 1
        self.mean += max(self.fading_factor, 1.0 / self.n) * (x - self.mean)

    def get(self) -> float:
        return self.mean


#: The name checkpoints written before it was public know it by (pickles name classes).
_WarmEWMean = WarmEWMean


class WarmEWVar:
    """Exponentially weighted variance, warm-started as ``WarmEWMean``: the sample variance (with
    Bessel's correction) of the values seen until there are about 1/rate of them, then faded.

    >>> v = WarmEWVar(0.02)
    >>> for x in (2, 10, 2, 10):
    ...     v.update(x)
    >>> round(v.get(), 6)  # statistics.variance([2, 10, 2, 10])
    21.333333
    """

    def __init__(self, rate: float):
        self.fading_factor = rate
        self.n = 0
        self.mean = 0.0
        self.var = 0.0

    def update(self, x: float) -> None:
        self.n += 1
        a = max(self.fading_factor, 1.0 / self.n)
        d = x - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)

    def get(self) -> float:
        if self.n < 2:
            return 0.0
        if self.n * self.fading_factor < 1.0:  # still a plain sample: unbiased
            return self.var * self.n / (self.n - 1)
        return self.var


class VolumeDetector(base.AnomalyDetector):
    """Seasonal, robust baseline for one count or value series; scores are tail surprises.

    Parameters
    ----------
    value_key, time_key
        Keys of the value and of the event time in each ``x``.
    level_halflife
        Half-life, in points, of the level (the deseasonalised mean).
    scale_halflife
        Half-life, in points, of the residual scale.
    season_halflife
        Half-life, in days (hour-of-day) or weeks (day-of-week), of each seasonal slot.
    season_days
        Days of history before the hour-of-day profile is used (day-of-week needs 14 days).
    seasonality
        ``"auto"`` (daily, then weekly, once the history spans enough time) or ``"none"``.
    clip
        Winsorising bound, in scale units, for the level and seasonal updates.
    scale_clip
        Winsorising bound for the scale's update. Wider than ``clip``: with one bound for both, a stream
        whose normal includes frequent bursts (intermittent counts) would see its scale shrink towards
        zero, every burst being clipped to the same few units of an ever smaller scale.
    counts
        ``"auto"`` (counts while every value seen is a non-negative integer), ``True`` or ``False``.
    df
        Degrees of freedom of the Student-t used for values.
    direction
        ``"both"``, ``"up"`` (spikes) or ``"down"`` (drops, silences): the tail(s) that score.
    warmup
        Points learnt before any score is non-zero.
    band
        Two-sided coverage of the band that ``explain_one`` reports.
    min_scale
        Floor of the residual scale for values, relative to the level's magnitude (flat streams).
    short_halflife
        When positive, also test the exponentially weighted mean of recent standardised residuals (this
        half-life, in points) against its null spread, so that a sustained shift too small for any one
        point is found; the score is that of the stronger evidence (0 turns it off).
    seed
        Unused (the detector is deterministic); kept for the registry's common signature.
    """

    def __init__(self, value_key: str = "y", time_key: str = "t", level_halflife: float = 48.0,
                 scale_halflife: float = 288.0, season_halflife: float = 2.0, season_days: float = 1.0,
                 seasonality: str = "auto", clip: float = 3.0, scale_clip: float = 6.0, counts: str | bool = "auto", df: float = 5.0,
                 direction: str = "both", warmup: int = 24, band: float = 0.99, min_scale: float = 1e-3, short_halflife: float = 0.0,
                 seed: int | None = None):
        self.value_key = value_key
        self.time_key = time_key
        self.level_halflife = level_halflife
        self.scale_halflife = scale_halflife
        self.season_halflife = season_halflife
        self.season_days = season_days
        self.seasonality = seasonality
        self.clip = clip
        self.scale_clip = scale_clip
        self.counts = counts
        self.df = df
        self.direction = direction
        self.warmup = warmup
        self.band = band
        self.min_scale = min_scale
        self.short_halflife = short_halflife
        self._short = stats.EWMean(_rate(short_halflife)) if short_halflife > 0 else None
        self.seed = seed
        self._level = WarmEWMean(_rate(level_halflife))
        self._sq = WarmEWMean(_rate(scale_halflife))
        self._hod = np.zeros(24)
        self._dow = np.zeros(7)
        self._n = 0
        self._integer = True
        self._first: float | None = None
        self._last: float | None = None
        self._dt = stats.EWMean(0.05)

    # -- state -------------------------------------------------------------------------------------
    def _is_counts(self) -> bool:
        return self._integer if self.counts == "auto" else bool(self.counts)

    def _slots(self, ts: float | None) -> tuple[int, int, bool, bool]:
        if ts is None or self._first is None or self.seasonality == "none":
            return 0, 0, False, False
        span = ts - self._first
        daily = span >= self.season_days * 86400.0 and self._dt.get() < 6 * 3600.0
        weekly = span >= 14 * 86400.0 and self._dt.get() < 86400.0
        day = math.floor(ts / 86400.0)  # UTC hour and weekday by arithmetic (1970-01-01 was a Thursday)
        return int((ts - day * 86400.0) // 3600.0), (day + 3) % 7, daily, weekly

    def _expected(self, ts: float | None) -> tuple[float, int, int, bool, bool]:
        h, d, daily, weekly = self._slots(ts)
        mu = self._level.get() + (self._hod[h] if daily else 0.0) + (self._dow[d] if weekly else 0.0)
        return float(mu), h, d, daily, weekly

    def _variance(self, mu: float) -> float:
        if self._is_counts():
            return max(self._sq.get(), 1.0) * max(mu, 0.5)
        floor = self.min_scale * max(abs(self._level.get()), 1e-6)
        return max(self._sq.get(), floor * floor)

    # -- tails -------------------------------------------------------------------------------------
    def _tails(self, y: float, mu: float, var: float) -> tuple[float, float]:
        """P(Y >= y) and P(Y <= y) under the baseline."""
        if self._is_counts():
            mu = max(mu, 0.5)
            k = math.floor(y)
            if var <= mu * 1.0001:
                up = float(special.pdtrc(k - 1, mu)) if k >= 1 else 1.0
                return up, float(special.pdtr(k, mu))
            r = mu * mu / (var - mu)
            p = r / (r + mu)
            # scipy's nbdtr truncates a real-valued r, so use the regularised incomplete beta directly
            up = float(special.betainc(k, r, 1.0 - p)) if k >= 1 else 1.0
            return up, float(special.betainc(r, k + 1.0, p)) if k >= 0 else 0.0
        z = (y - mu) / math.sqrt(var)
        return float(special.stdtr(self.df, -z)), float(special.stdtr(self.df, z))

    def _p(self, up: float, down: float) -> float:
        if self.direction == "up":
            return up
        if self.direction == "down":
            return down
        return min(1.0, 2.0 * min(up, down))

    # -- river protocol ----------------------------------------------------------------------------
    def score_one(self, x: dict) -> float:
        """Surprise ``-log10(p)`` of ``x`` under the current baseline; 0 during warm-up. Pure."""
        if self._n < self.warmup:
            return 0.0
        y = float(x[self.value_key])
        mu = self._expected(event_time(x.get(self.time_key)))[0]
        var = self._variance(mu)
        p = self._p(*self._tails(y, mu, var))
        if self._short is not None:
            p = min(p, self._short_p(y, mu, var))
        return -math.log10(max(p, 1e-300))

    def _z(self, y: float, mu: float, var: float) -> float:
        return max(-self.scale_clip, min(self.scale_clip, (y - mu) / math.sqrt(var)))

    def _short_p(self, y: float, mu: float, var: float) -> float:
        a = self._short.fading_factor
        u = (1.0 - a) * self._short.get() + a * self._z(y, mu, var)
        z = u / math.sqrt(a / (2.0 - a))
        return self._p(float(special.ndtr(-z)), float(special.ndtr(z)))

    @property
    def n_learnt(self) -> int:
        """Points learnt so far (scores are 0 until ``warmup`` of them)."""
        return self._n

    def forecast(self, t: object = None) -> tuple[float, float]:
        """Expected value and variance of a point at event time ``t`` under the current baseline. Pure.

        Used to build expectations over windows that are not whole buckets (see server/incidents).
        """
        ts = event_time(t)
        key = self._slots(ts)
        memo = self.__dict__.get("_memo")  # per learnt state: callers ask for the same slots many times
        if memo is None or memo[0] != self._n:
            memo = self._memo = (self._n, {})
        out = memo[1].get(key)
        if out is None:
            mu = self._expected(ts)[0]
            out = memo[1][key] = (mu, self._variance(mu))
        return out

    def explain_one(self, x: dict) -> Explanation:
        """Observed, expected, band, p-value, direction and surprise for ``x``. Pure."""
        y = float(x[self.value_key])
        mu = self._expected(event_time(x.get(self.time_key)))[0]
        var = self._variance(mu)
        up, down = self._tails(y, mu, var)
        q = (1.0 + self.band) / 2.0
        if self._is_counts():
            mean = max(mu, 0.5)
            if var <= mean * 1.0001:
                lo, hi = special.pdtrik(1 - q, mean), special.pdtrik(q, mean)
            else:
                r = mean * mean / (var - mean)
                lo, hi = special.nbdtrik(1 - q, r, r / (r + mean)), special.nbdtrik(q, r, r / (r + mean))
            lo, hi = max(0.0, math.floor(lo)), math.ceil(hi)
        else:
            half = float(special.stdtrit(self.df, q)) * math.sqrt(var)
            lo, hi = mu - half, mu + half
        p = self._p(up, down)
        return Explanation(observed=y, expected=mu, lower=float(lo), upper=float(hi), p_value=p,
                           direction="up" if y >= mu else "down", surprise=-math.log10(max(p, 1e-300)))

    def learn_one(self, x: dict) -> None:
        y = float(x[self.value_key])
        ts = event_time(x.get(self.time_key))
        if ts is not None:
            if self._first is None:
                self._first = ts
            elif self._last is not None and ts > self._last:
                self._dt.update(ts - self._last)
            self._last = ts
        if y < 0 or y != math.floor(y):
            self._integer = False
        if self._n == 0:
            self._level.update(y)
            self._n = 1
            return
        mu, h, d, daily, weekly = self._expected(ts)
        r = rs = y - mu
        if self._n >= 3:
            sd = math.sqrt(self._variance(mu))
            r = min(max(r, -self.clip * sd), self.clip * sd)
            rs = min(max(rs, -self.scale_clip * sd), self.scale_clip * sd)
        if self._short is not None and self._n >= 3:
            self._short.update(self._z(y, mu, self._variance(mu)))
        yc = mu + r
        season = (self._hod[h] if daily else 0.0) + (self._dow[d] if weekly else 0.0)
        self._level.update(yc - season)
        self._sq.update(rs * rs / max(mu, 0.5) if self._is_counts() else rs * rs)
        if ts is not None and self.seasonality != "none" and self._first is not None:
            per_hour = max(1.0, 3600.0 / max(self._dt.get(), 1.0))
            dev = yc - self._level.get()
            self._hod[h] += _rate(self.season_halflife * per_hour) * (dev - (self._dow[d] if weekly else 0.0) - self._hod[h])
            self._dow[d] += _rate(self.season_halflife * 24 * per_hour) * (dev - self._hod[h] - self._dow[d])
        self._n += 1
