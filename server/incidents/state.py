"""What the detection engine keeps (:mod:`server.incidents.engine`): the watched series with their
learnt baselines, the recent tickets, the embedding bank and the incidents, and the constants the
engine's parts share.

Everything here is plain data that pickles into the detector's checkpoint.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from server.detect.volume import VolumeDetector

HOUR = 3600.0
WEEK = 7 * 86400.0
#: Trailing windows (seconds) of the volume tests.
SPIKE_WINDOWS = (1800.0, 7200.0, 21600.0)
#: Event-time period of the drop tests and of the resolve checks.
TICK = 900.0
FAMILY = {"spike": "volume", "new_topic": "volume", "concentration": "volume", "sentiment": "sentiment",
          "drop": "drop"}
KINDS = tuple(FAMILY)
#: Hours of baseline a topic needs before it is tested as established (before: as a new topic).
ESTABLISHED_HOURS = 24
#: Event time a tenant's stream must span before volume incidents open (every topic is new at first).
TENANT_WARMUP = 2 * 86400.0
#: Closed hours kept per series (for evidence and charts).
KEEP_HOURS = 14 * 24
#: Tickets a topic must have gathered before its own share alone sets its expectation.
SMALL_TOPIC = 10
#: Trailing window of the sentiment test; topics keep their recent tickets for this long at least.
SENTIMENT_WINDOW = 21600.0
#: Channel and form shares: the prior of their over-dispersion and its weight (in binomial variances).
MIX_RHO_PRIOR = 0.01
MIX_PRIOR_WEIGHT = 50.0
#: The embedding bank (the nearby-tickets test): the span its tickets' background rate is learnt over,
#: and the most embeddings kept.
NEAR_HISTORY = 7 * 86400.0
NEAR_MAX = 10000


def _ts(at: datetime) -> float:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True)
class Observation:
    """One ticket placed in a topic, as the detector sees it (already redacted)."""

    ticket_id: str
    topic_id: int
    at: datetime
    requester: str | None = None
    account: str | None = None
    segments: Mapping[str, str] = field(default_factory=dict)
    sentiment: float = 0.0
    text: str = ""
    #: False for backfilled history: it teaches baselines but opens nothing.
    live: bool = True
    #: Other topics the ticket was nearly as close to (see ``TopicModel``): the volume tests also
    #: look at the topic with these, so that an intent split over topics is seen whole.
    neighbours: tuple[int, ...] = ()
    #: (page path, widget session id) where the requester met friction before writing (server/widget).
    pages: tuple[tuple[str, str], ...] = ()
    #: The ticket's unit embedding (numpy float32), for the nearby-tickets test; None skips that test.
    vector: Any = field(default=None, compare=False, repr=False)
    #: Display names of its segment values, by dimension (``{"organization": "Kestrel Logistics"}``).
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Ticket:
    ts: float
    ticket_id: str
    who: str
    account: str | None
    segments: Mapping[str, str]
    sentiment: float
    text: str
    #: Attached to a volume incident: it has done its work and does not count towards another one.
    claimed: bool = False
    #: The volume incident it is attached to, if any.
    incident: int | None = None
    pages: tuple[tuple[str, str], ...] = ()


class _Series:
    """Hourly baseline and recent tickets of one watched series."""

    def __init__(self, key: str, measure: str, start: float) -> None:
        self.key = key
        self.measure = measure  # "requesters" (topics) or "tickets"
        # The hourly count y is learnt as log(1 + y): additive hour-of-day and day-of-week profiles
        # there are multiplicative in counts (a quiet Sunday night is quiet in proportion).
        self.baseline = VolumeDetector(level_halflife=168.0, scale_halflife=336.0, season_halflife=2.0,
                                       counts=False, warmup=ESTABLISHED_HOURS, min_scale=0.05)
        self.bucket = math.floor(start / HOUR) * HOUR
        self.tickets = 0
        self.who: set[str] = set()
        self.recent: deque[_Ticket] = deque()
        self.history: deque[tuple[float, int, int, float, int, int]] = deque(maxlen=KEEP_HOURS)
        self.first_ts = start
        self.last_ts = start
        self.segment_counts: dict[str, dict[str, float]] = {}
        self.segment_total = 0.0
        self.first_day_counted = False
        self.first_day_who: set[str] = set()
        # Topics: expected volume is a share of the tenant's (see Engine.forecast); learnt per hour.
        self.share_num = 0.0
        self.share_den = 0.0
        # Negative binomial over-dispersion, 1/r = E[(y - mu)^2 - mu] / E[mu^2] (weighted sums, prior r = 5).
        self.disp_num = 1.0
        self.disp_den = 5.0
        self.hours = 0
        self.outliers = 0
        self.seen = 0  # tickets ever counted (topics)

    # Channels and forms: their share of all tickets (``mix``), learnt per hour, and how much more the
    # hourly share varies than a binomial would (the beta-binomial's intra-class correlation, ``rho``:
    # E[(n - sN)^2 - v] / E[v (N - 1)] with v = N s (1 - s), prior 0.01). Class attributes, so that a
    # checkpoint written before these existed loads with their starting values.
    mix_num = 0.0
    mix_den = 0.0
    mix_disp_num = MIX_RHO_PRIOR * MIX_PRIOR_WEIGHT
    mix_disp_den = MIX_PRIOR_WEIGHT

    def mix(self) -> float:
        """This channel's or form's share of all tickets (exponentially weighted over about a week)."""
        return self.mix_num / self.mix_den if self.mix_den > 0 else 0.0

    def mix_rho(self) -> float:
        """Intra-hour correlation of the share (0: binomial), bounded to [0.001, 0.5]."""
        return min(max(self.mix_disp_num / self.mix_disp_den, 0.001), 0.5)

    def count(self) -> int:
        return len(self.who) if self.measure == "requesters" else self.tickets

    def share(self) -> float:
        """This topic's share of the tenant's volume (exponentially weighted over about a week)."""
        return self.share_num / self.share_den if self.share_den > 0 else 0.0

    def inv_r(self) -> float:
        """1/r of the negative binomial around the share-based expectation (0: Poisson)."""
        return max(0.0, self.disp_num / self.disp_den) if self.disp_den > 0 else 0.2

    def _slots(self, t0: float, t1: float) -> Iterator[tuple[float, float, float]]:
        """Hour slots overlapping (t0, t1]: expected count and variance (back from log space), and the
        fraction of the slot inside the window."""
        t = t0
        while t < t1:
            end = min(t1, (math.floor(t / HOUR) + 1) * HOUR)
            m, v = self.baseline.forecast(t)
            mu = max(math.exp(m + v / 2.0) - 1.0, 1e-3)
            yield mu, max(mu, (mu + 1.0) ** 2 * v), (end - t) / HOUR
            t = end

    def hourly(self, t0: float, t1: float) -> list[float]:
        """Expected counts of the hour slots overlapping (t0, t1], pro rata.

        Remembered per learnt state: every topic's test at one moment asks the tenant's total for the
        same few windows (a cache, not state: a checkpoint does not keep it)."""
        memo = self.__dict__.get("_hourly")
        n = self.baseline.n_learnt
        if memo is None or memo[0] is not self.baseline or memo[1] != n or len(memo[2]) > 256:
            memo = self._hourly = (self.baseline, n, {})
        out = memo[2].get((t0, t1))
        if out is None:
            out = memo[2][(t0, t1)] = [m * frac for m, _v, frac in self._slots(t0, t1)]
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_hourly", None)
        return state

    def forecast(self, t0: float, t1: float) -> tuple[float, float]:
        """Expected count over (t0, t1] and its over-dispersion, hour slot by hour slot.

        A part of an hour gets that part of the hour's mean and of its extra-Poisson variance.
        """
        mu, var = 0.0, 0.0
        for m, v, frac in self._slots(t0, t1):
            mu += m * frac
            var += m * frac + (v - m) * frac * frac
        mu = max(mu, 1e-3)
        return mu, max(var / mu, 1.0)

    def in_window(self, now: float, width: float) -> list[_Ticket]:
        return [t for t in self.recent if now - width < t.ts <= now]


class _Bank:
    """The embeddings of the tenant's recent tickets (the last NEAR_HISTORY, at most NEAR_MAX), with
    each one's time and ticket: what the nearby-tickets test searches.

    Rows are appended; when the arrays fill up, forgotten rows (past NEAR_HISTORY, or older than the
    newest NEAR_MAX) are dropped in one copy if at least half of them go, else the arrays grow, up to
    about twice NEAR_MAX rows: one copy per many tickets, never one per ticket. ``recent`` gives the
    newest NEAR_MAX rows (older ones are also filtered by time where they are used); a checkpoint holds
    the rows only.
    """

    def __init__(self, dim: int) -> None:
        self.vectors = np.zeros((256, dim), dtype=np.float32)
        self.ts = np.zeros(256)
        self.tickets: list[_Ticket] = []

    def add(self, vector: np.ndarray, ticket: _Ticket) -> None:
        n = len(self.tickets)
        if n == len(self.ts):
            keep = self.ts[:n] > ticket.ts - NEAR_HISTORY
            keep[:max(0, n - NEAR_MAX + 1)] = False  # past the cap: the oldest go first
            if keep.sum() > n // 2:  # under half would go: make room instead
                more = max(256, min(n, 2 * NEAR_MAX - n))
                self.vectors = np.vstack([self.vectors, np.zeros((more, self.vectors.shape[1]), dtype=np.float32)])
                self.ts = np.concatenate([self.ts, np.zeros(more)])
            else:
                idx = np.flatnonzero(keep)
                m = len(idx)
                self.vectors[:m], self.ts[:m] = self.vectors[idx], self.ts[idx]
                self.tickets = [self.tickets[i] for i in idx]
                n = m
        self.vectors[n] = vector
        self.ts[n] = ticket.ts
        self.tickets.append(ticket)

    def __getstate__(self) -> dict[str, Any]:  # a checkpoint holds the rows, not the spare room
        n = len(self.tickets)
        return {"vectors": self.vectors[:n].copy(), "ts": self.ts[:n].copy(), "tickets": self.tickets}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def recent(self) -> tuple[np.ndarray, np.ndarray, list[_Ticket]]:
        """Vectors, times and tickets of the newest NEAR_MAX rows (aligned)."""
        n = len(self.tickets)
        lo = max(0, n - NEAR_MAX)
        return self.vectors[lo:n], self.ts[lo:n], self.tickets[lo:]


@dataclass
class IncidentState:
    """What the engine knows of one incident (the row the writer stores is built from it)."""

    id: int
    kind: str
    series: str
    topic_id: int | None
    first_seen_at: datetime
    detected_at: datetime
    status: str = "open"
    status_by: str = "detector"
    status_changed_at: datetime | None = None
    resolved_at: datetime | None = None
    last_activity_at: datetime | None = None
    ticket_ids: list[str] = field(default_factory=list)
    requesters: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    p_value: float = 1.0
    direction: str = "up"
    evidence: dict[str, Any] = field(default_factory=dict)
    representatives: list[dict[str, str]] = field(default_factory=list)
    notified_requesters: int = 0
    notifications: int = 0
    #: Page path -> (widget sessions, requesters) with friction there before their tickets.
    pages: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)
    calm_since: float | None = None
    useful: int = 0
    noise: int = 0

    @property
    def active(self) -> bool:
        return self.status in ("open", "acknowledged")

    @property
    def family(self) -> str:
        return FAMILY[self.kind]


@dataclass(frozen=True)
class Alert:
    kind: str
    series: str
    p: float
    direction: str
    window: float
    observed: int
    expected: float
    lower: int
    upper: int
    tickets: list[_Ticket]
    segments: list[dict[str, Any]]
    #: Tickets the window's statistic was computed on, when not all of them are ``tickets`` (sentiment).
    window_tickets: int | None = None


Describe = Callable[[int], Mapping[str, Any]]


def _push(recent: deque, ticket: _Ticket, horizon: float) -> None:
    """Add ``ticket`` to ``recent`` (kept in time order) and drop what is older than ``horizon``."""
    if recent and ticket.ts < recent[-1].ts:
        items = sorted(list(recent) + [ticket], key=lambda t: t.ts)
        recent.clear()
        recent.extend(items)
    else:
        recent.append(ticket)
    while recent and recent[0].ts <= recent[-1].ts - horizon:
        recent.popleft()


def _merged_history(a: deque, b: deque) -> deque:
    """Two topics' closed hours added hour by hour (counts, expectations and bands)."""
    hours: dict[float, tuple[int, int, float, int, int]] = {}
    for history in (a, b):
        for start, tickets, who, mu, lo, hi in history:
            t0, w0, m0, l0, h0 = hours.get(start, (0, 0, 0.0, 0, 0))
            hours[start] = (t0 + tickets, w0 + who, m0 + mu, l0 + lo, h0 + hi)
    return deque(((start, *row) for start, row in sorted(hours.items())), maxlen=KEEP_HOURS)


def _most_common(tickets: list[_Ticket], dim: str) -> tuple[str, int] | None:
    """The value of segment ``dim`` most of the tickets have (the greatest on a tie), with how many have it;
    None when none has one."""
    values: dict[str, int] = {}
    for t in tickets:
        v = t.segments.get(dim)
        if v:
            values[v] = values.get(v, 0) + 1
    return max(values.items(), key=lambda kv: (kv[1], kv[0])) if values else None


def _dominant(tickets: list[_Ticket], dim: str) -> str | None:
    """The value of segment ``dim`` more than half of the tickets have, or None."""
    top = _most_common(tickets, dim)
    return top[0] if top is not None and top[1] * 2 > len(tickets) else None
