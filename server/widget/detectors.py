"""Per-page friction detectors: friction events per page and signal per hour, against the page's own
learnt baseline, scaled by the page's traffic.

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

**Traffic.** A page's failures rise and fall with its visitors: a night hour with a tenth of the day's
sessions has a tenth of its failures, and a count that is ordinary at 14:00 is an outage at 03:00. So each
series also counts the hour's *visitors* (distinct sessions with any event on the page, ``visit``) and
learns the share of visitors who meet the signal (``ew_affected`` over ``ew_visitors``) and how far whole
hours stray from a binomial count of that share (``ew_spread``, at least 1). Once a series has learnt
``warmup_hours`` hours with visitors, the open hour is judged by how many of its visitors so far met the
signal: the upper tail of a beta-binomial with the learnt share, widened by the spread and by the
estimate's own uncertainty (``visitor_tail``). Hours without visitors teach nothing. Counting people, not
events, is also what an outage changes: the share of a page's visitors who fail. Until then (a new series,
or one restored from a checkpoint written before visitors were counted) the hourly baseline above judges
it. Charts and sentences stay in events: the expected sessions times the learnt events per affected
session. While the hour is open that expectation is for its visitors so far, and grows with them; once it
closes, ``closed_hours`` gives the whole hour's count, expectation and visitors.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from scipy.stats import betabinom, nbinom, poisson

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
#: Largest ratio of an hour's squared deviation to its binomial variance that one hour teaches the spread,
#: and the largest intra-hour correlation of visitors' failures it implies.
MAX_SPREAD = 25.0
MAX_RHO = 0.5
#: The per-visitor test looks again at every affected session while the hour's visitors grow, and its
#: p-value can dip early and recover (the hourly test's only falls): its threshold is this many times
#: stricter, measured on quiet traffic to keep the weekly budget (bench/friction_quiet.py).
VISITOR_LOOKS = 4.0
#: Per visitor, an hour's rise is dated from the first look at which its p-value fell below ``RISE_P``,
#: unless it came back above ``CALM_P`` since (ordinary ups and downs early in an hour).
RISE_P = 0.05
CALM_P = 0.5
#: Most sessions remembered per page and hour to count each visitor once (one set per page, not per signal;
#: past it, a session already seen may count again, which only makes the test more cautious).
MAX_PAGE_VISITORS = 50_000


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
    #: The page's visitors so far in the hour when it was judged per visitor (0: against the hourly mean).
    visitors: int = 0


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
    #: The open hour's visitors of the page so far (distinct sessions with any event on it).
    visitors: int = 0
    #: Hours learnt with visitors; per hour the EW events, visitors and affected sessions, and the ratio of
    #: the affected sessions' squared deviation to its binomial variance.
    exposed_hours: int = 0
    ew_count: WarmEWMean = field(default_factory=lambda: WarmEWMean(FADING))
    ew_visitors: WarmEWMean = field(default_factory=lambda: WarmEWMean(FADING))
    ew_affected: WarmEWMean = field(default_factory=lambda: WarmEWMean(FADING))
    ew_spread: WarmEWMean = field(default_factory=lambda: WarmEWMean(FADING))

    def __setstate__(self, state: dict) -> None:
        """A series checkpointed before charts or visitors were kept starts them empty."""
        self.__dict__.update(state)
        for name in ("ew_count", "ew_visitors", "ew_affected", "ew_spread"):
            self.__dict__.setdefault(name, WarmEWMean(FADING))
        self.__dict__.setdefault("recent", deque(maxlen=RECENT_HOURS))
        if not isinstance(self.__dict__.setdefault("visitors", 0), int):
            self.visitors = len(self.visitors)  # the set an earlier build kept
        self.__dict__.setdefault("exposed_hours", 0)

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

    def share(self) -> tuple[float, float, float]:
        """The learnt share of visitors meeting the signal, the intra-hour correlation that makes whole
        hours stray from a binomial count (0: they do not), and the visitors learnt (for the estimate's
        uncertainty).

        The share is shrunk towards half an affected session over one more hour of the usual visitors, as
        the hourly baseline's mean is, so a page that never failed is not certain never to fail.
        """
        h = max(1.0, min(float(self.exposed_hours), 1.0 / FADING))
        visitors = max(self.ew_visitors.get(), 1.0)
        q = min((self.ew_affected.get() * h + PRIOR_EVENTS) / (visitors * (h + 1.0)), 0.999)
        rho = min(MAX_RHO, max(0.0, (self.ew_spread.get() - 1.0) / max(visitors - 1.0, 1.0)))
        return q, rho, visitors * h

    def exposed(self, warmup: int) -> bool:
        """Whether the open hour is judged per visitor: hours enough learnt with visitors, and visitors now."""
        return self.exposed_hours >= warmup and self.visitors > 0

    def visitor_tail(self, affected: int, visitors: int) -> float:
        """P(at least ``affected`` of ``visitors`` meet the signal) under the learnt share: beta-binomial,
        its precision the smaller of the hours' spread and the visitors learnt.

        >>> s = PageSeries(start=0.0, bucket=0.0, exposed_hours=48)
        >>> for _ in range(48):
        ...     s.ew_visitors.update(20); s.ew_affected.update(1); s.ew_spread.update(1.0)
        >>> s.visitor_tail(4, 20) > 0.01, s.visitor_tail(12, 20) < 1e-8
        (True, True)
        """
        if affected <= 0:
            return 1.0
        q, rho, learnt = self.share()
        precision = 1.0 / (rho + 1.0 / learnt)
        return float(betabinom.sf(affected - 1, max(visitors, affected), q * precision, (1.0 - q) * precision))

    def expected_for(self, visitors: int) -> tuple[float, float]:
        """Expected mean and variance of the events of an hour with ``visitors`` visitors (for charts and
        sentences): its expected affected sessions times the learnt events per affected session."""
        q, rho, learnt = self.share()
        per = (self.ew_count.get() + PRIOR_EVENTS) / (self.ew_affected.get() + PRIOR_EVENTS)
        mu = max(q * visitors * per, FLOOR)
        var = visitors * q * (1.0 - q) * (1.0 + (visitors - 1.0) * rho + visitors / learnt) * per * per
        return mu, max(var, mu)

    def close(self, until: float, live: Callable[[float], bool] | None = None, warmup: float = math.inf
              ) -> list[tuple[tuple[float, int, int, float, float], bool, int]]:
        """Close every hour before the one holding ``until``; returns each as it goes into ``recent`` (start,
        count, sessions, expected mean, expected variance: the expectation it was judged against) with
        whether it alarmed and the visitors it was judged against (0: against the hourly mean). ``warmup``:
        the hours with visitors after which hours are judged per visitor (the detector's ``warmup_hours``;
        infinite when it judges hourly counts only).

        ``live(hour_start)`` says whether the tenant's widget sent anything in that hour: an hour without
        any traffic (the site down, the widget removed, nobody using the product) is no evidence that the
        page stopped failing, and is not learnt, so friction coming back with the traffic is not news.
        """
        closed: list[tuple[tuple[float, int, int, float, float], bool, int]] = []
        steps = 0
        while until >= self.bucket + HOUR:
            n = self.visitors
            per_visitor = self.exposed_hours >= warmup and n > 0
            judged = self.expected_for(n) if per_visitor else self.expected()
            hour = (self.bucket, self.count, len(self.per_session), *judged)
            closed.append((hour, self.alarmed, n if per_visitor else 0))
            self.recent.append(hour)
            learn = live is None or self.count > 0 or live(self.bucket)
            if learn and not self.alarmed and not self.first:  # an alarming, silent or partial first hour stays out
                self.mean.update(self.count)
                self.var.update(self.count)
                self.hours += 1
                if n:
                    self._learn_visitors(n)
            self.bucket += HOUR
            self.count, self.per_session, self.users, self.alarmed, self.first = 0, {}, set(), False, False
            self.above_at, self.visitors = None, 0
            steps += 1
            if steps >= MAX_CATCH_UP:
                self.bucket = math.floor(until / HOUR) * HOUR
        return closed

    def _learn_visitors(self, n: int) -> None:
        k = len(self.per_session)
        if self.exposed_hours:
            q, _rho, _learnt = self.share()
            self.ew_spread.update(min((k - q * n) ** 2 / max(n * q * (1.0 - q), FLOOR), MAX_SPREAD))
        self.ew_count.update(self.count)
        self.ew_visitors.update(n)
        self.ew_affected.update(k)
        self.exposed_hours += 1


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
    per_visitor
        Judge an hour against its visitors once they are learnt (False: the hourly baseline only, as the
        detector did before it counted visitors; benchmarks compare the two).

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

    per_visitor = True  # detectors checkpointed before the option read this

    def __init__(self, weekly_false_alarms: float = 1.0, min_sessions: int = 3, warmup_hours: int = 24,
                 per_session_cap: int = 5, per_visitor: bool = True) -> None:
        self.per_visitor = per_visitor
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

    def closed_hours(self, now: float) -> list[tuple[str, str, tuple[float, int, int, float, float], bool, int]]:
        """Close hours that ended before ``now`` in every series: (path, signal, the hour as ``recent``
        keeps it, whether it alarmed, the whole hour's visitors it was judged against or 0)."""
        out = []
        live = self._live()
        for (path, signal), s in self.series.items():
            for hour, alarmed, visitors in s.close(now, live, self._judge_after()):
                out.append((path, signal, hour, alarmed, visitors))
        return out

    def _judge_after(self) -> float:
        """Hours with visitors after which a series' hours are judged per visitor (as ``observe`` tests them)."""
        return float(self.warmup_hours) if self.per_visitor else math.inf

    def _pages(self) -> dict[str, set[str]]:
        """Each page's signals with a series (a checkpoint from before visitors were counted: built here)."""
        pages = self.__dict__.get("pages")
        if pages is None:
            pages = self.__dict__["pages"] = {}
            for p, sig in self.series:
                pages.setdefault(p, set()).add(sig)
        return pages

    def visit(self, path: str, session_id: str, ts: float) -> None:
        """A session had an event on ``path`` at ``ts``: it is one of the page's visitors in that hour (for
        every signal the page has a series of)."""
        signals = self._pages().get(path)
        if not signals:
            return  # visitors are counted only on pages with friction series
        hour = math.floor(ts / HOUR) * HOUR
        seen = self.__dict__.setdefault("page_visitors", {})  # page -> (hour, its sessions so far)
        entry = seen.get(path)
        if entry is None or hour > entry[0]:
            entry = seen[path] = (hour, set())
        elif hour < entry[0] or session_id in entry[1]:
            return  # a late event (its hour is closed), or a visitor already counted
        if len(entry[1]) < MAX_PAGE_VISITORS:
            entry[1].add(session_id)
        live = self._live()
        for signal in signals:
            s = self.series.get((path, signal))
            if s is not None:
                s.close(ts, live, self._judge_after())
                if ts >= s.bucket:
                    s.visitors += 1

    def observe(self, path: str, signal: str, session_id: str, user: str | None, ts: float) -> Alarm | None:
        """One friction event; returns an alarm when this event makes its hour significant."""
        key = (path, signal)
        s = self.series.get(key)
        if s is None:
            hour = math.floor(ts / HOUR) * HOUR
            pages = self._pages()
            s = self.series[key] = PageSeries(start=hour, bucket=hour, first=True)
            pages.setdefault(path, set()).add(signal)
            while len(self.series) > MAX_SERIES:
                (old_path, old_signal), _ = self.series.popitem(last=False)
                left = pages.get(old_path, set())
                left.discard(old_signal)
                if not left:
                    pages.pop(old_path, None)
                    self.__dict__.get("page_visitors", {}).pop(old_path, None)
        else:
            self.series.move_to_end(key)
            s.close(ts, self._live(), self._judge_after())
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
        visitors = s.visitors if self.per_visitor and s.exposed(self.warmup_hours) else 0
        if visitors:
            mu, _var = s.expected_for(visitors)
            p = s.visitor_tail(len(s.per_session), visitors)
        else:
            mu, var = s.expected()
            p = upper_tail(s.count, mu, var)
        if not visitors:
            if s.count > mu and s.above_at is None:
                s.above_at = ts
        elif p < RISE_P:  # per visitor the hour so far is unusual from here on (or back to usual: start over)
            s.above_at = ts if s.above_at is None else s.above_at
        elif p >= CALM_P:
            s.above_at = None
        if len(s.per_session) < self.min_sessions:
            return None
        if p >= self.alpha() / (VISITOR_LOOKS if visitors else 1.0):
            return None
        s.alarmed = True
        return Alarm(path, signal, s.count, mu, p, set(s.per_session), set(s.users), s.bucket, s.above_at, visitors)
