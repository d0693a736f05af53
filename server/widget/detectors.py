"""Per-page friction detectors: friction events per page and signal per hour, against the page's own
learnt baseline.

Each (page, signal) series counts events in hourly buckets of event time, each session contributing at
most ``per_session_cap`` events an hour (one frantic visitor is not an outage). Closed hours teach a
baseline, an exponentially weighted mean and variance that are the plain sample mean and variance until
about 50 hours are learnt (``WarmEWMean``/``WarmEWVar`` in server/detect/volume.py: river's ``EWMean``
starts from its first value, which would weigh 62% after a day); hours that alarmed are kept out of it,
and so are a series' first hour, which starts at its first event and is partial, and hours in which the
tenant's widget sent nothing at all (``seen``). While an hour fills,
its count is tested against that baseline: the tail probability of a negative binomial with the
baseline's mean and variance (Poisson when the variance is not above the mean). The test fires when the probability falls below the tenant's weekly
false-alarm budget split across every (page, signal) series and every hour of a week (Bonferroni, as
the ticket engine's budget), and at least ``min_sessions`` sessions are affected. Pure code: time
comes with the events.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from scipy.stats import nbinom, poisson

from server.detect.volume import WarmEWMean, WarmEWVar

HOUR = 3600.0
#: Least expected count per hour, and the prior's events (a page that never failed still might).
FLOOR = 0.01
PRIOR_EVENTS = 0.5
#: Weight of the newest hour in the baseline (about the last 50 hours count).
FADING = 0.02
#: Most series kept per tenant; the least recently active go first.
MAX_SERIES = 2000
#: Most empty hours taught at once when a quiet series wakes up.
MAX_CATCH_UP = 24 * 14
#: Closed hours a series remembers with the baseline it was judged against, for an incident's chart.
RECENT_HOURS = 48


def upper_tail(count: int, mean: float, var: float) -> float:
    """P(X >= count) under a negative binomial with this mean and variance (Poisson if var <= mean).

    Examples
    --------
    >>> round(upper_tail(5, 1.0, 1.0), 4)  # Poisson(1)
    0.0037
    >>> upper_tail(5, 1.0, 4.0) > upper_tail(5, 1.0, 1.0)  # overdispersed: less surprising
    True
    >>> upper_tail(0, 1.0, 1.0)
    1.0
    """
    if count <= 0:
        return 1.0
    mean = max(mean, FLOOR)
    if var <= mean * 1.0001:
        return float(poisson.sf(count - 1, mean))
    p = mean / var
    n = mean * p / (1 - p)
    return float(nbinom.sf(count - 1, n, p))


@dataclass
class Alarm:
    """A series that crossed its threshold in the current hour."""

    path: str
    signal: str
    observed: int
    expected: float
    p: float
    sessions: set[str]
    users: set[str]
    hour_start: float
    #: When the hour's count first went above the baseline's mean (the rise began at or after it).
    rising_since: float | None = None


@dataclass
class PageSeries:
    """Hourly friction counts of one (page, signal) with their baseline."""

    start: float
    bucket: float
    count: int = 0
    per_session: dict[str, int] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)
    hours: int = 0
    alarmed: bool = False
    mean: WarmEWMean = field(default_factory=lambda: WarmEWMean(FADING))
    var: WarmEWVar = field(default_factory=lambda: WarmEWVar(FADING))
    #: The hour being filled is the series' first (it began at the series' first event): not learnt.
    first: bool = False
    #: When the open hour's count first went above the baseline's mean (None: not yet).
    above_at: float | None = None
    #: The last closed hours: (start, count, sessions, expected mean, expected variance) of each.
    recent: deque[tuple[float, int, int, float, float]] = field(default_factory=lambda: deque(maxlen=RECENT_HOURS))

    def history(self) -> deque[tuple[float, int, int, float, float]]:
        """``recent`` (a series checkpointed before it was kept starts an empty one)."""
        return self.__dict__.setdefault("recent", deque(maxlen=RECENT_HOURS))

    def expected(self) -> tuple[float, float]:
        """Predictive mean and variance of the next hour's count.

        The mean is shrunk towards a small prior (half an event over the hours seen), so a page that has
        never failed is not certain never to fail; the variance adds the uncertainty of the estimated
        mean (``mean / n``) to the observed one (at least Poisson's), so short or sparse histories are
        judged less harshly.
        """
        n = max(1.0, min(float(self.hours), 1.0 / FADING))
        mu = max((self.mean.get() * n + PRIOR_EVENTS) / (n + 1.0), FLOOR)
        return mu, max(self.var.get(), mu) + mu / n

    def close(self, until: float, live: Callable[[float], bool] | None = None) -> list[tuple[float, int, bool]]:
        """Close every hour before the one holding ``until``; returns (hour start, count, alarmed) of each.

        ``live(hour_start)`` says whether the tenant's widget sent anything in that hour: an hour without
        any traffic (the site down, the widget removed, nobody using the product) is no evidence that the
        page stopped failing, and is not learnt, so friction coming back with the traffic is not news.
        """
        closed: list[tuple[float, int, bool]] = []
        steps = 0
        recent = self.history()
        while until >= self.bucket + HOUR:
            closed.append((self.bucket, self.count, self.alarmed))
            recent.append((self.bucket, self.count, len(self.per_session), *self.expected()))
            learn = live is None or self.count > 0 or live(self.bucket)
            if learn and not self.alarmed and not self.first:  # an alarming, silent or partial first hour stays out
                self.mean.update(self.count)
                self.var.update(self.count)
                self.hours += 1
            self.bucket += HOUR
            self.count, self.per_session, self.users, self.alarmed, self.first = 0, {}, set(), False, False
            self.above_at = None
            steps += 1
            if steps >= MAX_CATCH_UP:
                self.bucket = math.floor(until / HOUR) * HOUR
        return closed


class PageFrictionDetector:
    """One tenant's per-page friction detectors.

    Parameters
    ----------
    weekly_false_alarms
        Expected false alarms per week over all pages and signals.
    min_sessions
        Least distinct sessions in the hour for an alarm.
    warmup_hours
        Hours a series needs to have learnt before it is tested (closed hours, not counting its partial
        first hour nor hours that alarmed).
    per_session_cap
        Most events one session adds to one series in one hour.

    Examples
    --------
    >>> d = PageFrictionDetector(warmup_hours=3)
    >>> t0 = 1_800_000_000.0 - 1_800_000_000.0 % 3600
    >>> for h in range(6):  # one failure an hour, from one session
    ...     _ = d.observe("/pay", "failed_request", f"s{h}", None, t0 + h * 3600)
    >>> alarms = [d.observe("/pay", "failed_request", f"x{i}", None, t0 + 6 * 3600 + i) for i in range(20)]
    >>> [a.observed for a in alarms if a][:1]
    [6]
    """

    def __init__(self, weekly_false_alarms: float = 1.0, min_sessions: int = 3, warmup_hours: int = 24,
                 per_session_cap: int = 5) -> None:
        self.weekly_false_alarms = weekly_false_alarms
        self.min_sessions = min_sessions
        self.warmup_hours = warmup_hours
        self.per_session_cap = per_session_cap
        self.series: OrderedDict[tuple[str, str], PageSeries] = OrderedDict()

    def configure(self, weekly_false_alarms: float, min_sessions: int, warmup_hours: int) -> None:
        self.weekly_false_alarms, self.min_sessions, self.warmup_hours = weekly_false_alarms, min_sessions, warmup_hours

    def alpha(self) -> float:
        """The per-test threshold: the weekly budget over (warm series x hours in a week)."""
        warm = sum(1 for s in self.series.values() if s.hours >= self.warmup_hours)
        return self.weekly_false_alarms / (max(1, warm) * 24 * 7)

    def seen(self, ts: float) -> None:
        """The tenant's widget sent an event at ``ts`` (any event): its hour had traffic."""
        hours = self.__dict__.setdefault("live_hours", OrderedDict())  # checkpoints from before had none
        hour = math.floor(ts / HOUR) * HOUR
        if hour not in hours:
            hours[hour] = None
            while len(hours) > MAX_CATCH_UP + 48:
                hours.popitem(last=False)

    def _live(self) -> Callable[[float], bool] | None:
        hours = self.__dict__.get("live_hours")
        if not hours:
            return None  # nothing recorded (a checkpoint from before): every hour counts, as it did
        oldest = next(iter(hours))
        return lambda start: start < oldest or start in hours

    def closed_hours(self, now: float) -> list[tuple[str, str, float, int, bool, float]]:
        """Close hours that ended before ``now`` in every series: (path, signal, start, count, alarmed, p)."""
        out = []
        live = self._live()
        for (path, signal), s in self.series.items():
            for start, count, alarmed in s.close(now, live):
                mu, var = s.expected()
                out.append((path, signal, start, count, alarmed, upper_tail(count, mu, var)))
        return out

    def observe(self, path: str, signal: str, session_id: str, user: str | None, ts: float) -> Alarm | None:
        """One friction event; returns an alarm when this event makes its hour significant."""
        key = (path, signal)
        s = self.series.get(key)
        if s is None:
            hour = math.floor(ts / HOUR) * HOUR
            s = self.series[key] = PageSeries(start=hour, bucket=hour, first=True)
            while len(self.series) > MAX_SERIES:
                self.series.popitem(last=False)
        else:
            self.series.move_to_end(key)
            s.close(ts, self._live())
        if ts < s.bucket:  # late event for a closed hour: already learnt without it
            return None
        n = s.per_session.get(session_id, 0)
        if n >= self.per_session_cap:
            return None
        s.per_session[session_id] = n + 1
        s.count += 1
        if user:
            s.users.add(user)
        if s.hours < self.warmup_hours:
            return None
        mu, var = s.expected()
        if s.count > mu and s.above_at is None:
            s.above_at = ts
        if len(s.per_session) < self.min_sessions:
            return None
        p = upper_tail(s.count, mu, var)
        if p >= self.alpha():
            return None
        s.alarmed = True
        return Alarm(path, signal, s.count, mu, p, set(s.per_session), set(s.users), s.bucket, s.above_at)
