"""The detection engine of one tenant: learnt baselines, tests with a false-alarm budget, incidents.

Pure: no Flask, no database, no clock. Time is event time, carried by the observations; everything
learnt is plain data that pickles into the detector's checkpoint, so a replay gives the same incidents.

What is watched
---------------
Every ticket placed in a topic is an :class:`Observation`. It counts in these series:

- ``topic:<id>`` (distinct requesters: one customer writing three times is one, not three);
- ``channel:<name>``, ``form:<id>`` and ``all`` (tickets; these carry the drop test).

Each series keeps an hourly baseline, a :class:`server.detect.VolumeDetector` fed one closed hour at a
time: level plus hour-of-day and day-of-week profiles, robust (winsorised) updates and a learnt
over-dispersion. While an incident on a series is active its hours are not learnt (a spike must not
teach the baseline that spikes are normal) unless it lasts longer than a day (then it is the new normal).
Backfilled tickets warm the baselines up: they close hours like live ones but never open incidents.

The tests
---------
- **spike** (each new ticket of a topic): distinct requesters in the trailing 30 min, 2 h and 6 h
  against the baseline's expectation over the same window (summed hour slot by hour slot, so a busy
  hour expects more), upper tail of a negative binomial.
- **new_topic**: the same, for a topic with less than a day of baseline, against what new topics of
  this tenant usually gather on their first day (learnt online, with a prior of 1.5 tickets).
- **neighbours**: an intent the topic model split over several topics rises in all of them, a little in
  each. Each ticket names the topics it was nearly as close to (``Observation.neighbours``); the
  spike and new-topic tests also run on the topic together with those (requesters of all of them
  against the sum of their expectations), and alert on whichever is less likely. Both count as tests
  in the budget. A rise of the topic alone must also be unusual for the group (p <= ``CONFIRM_P``): when
  a topic grows because its neighbour lost tickets to it, the group is flat and nothing fires.
- **nearby tickets**: the topic model may scatter one problem over several busy topics, none of which
  rises. Each ticket carrying its embedding (``Observation.vector``) is also tested on its neighbourhood
  in meaning: customers whose recent tickets are at least ``NEAR_SIMILARITY`` close to it, whatever their
  topics, against that neighbourhood's share of the past week's tickets (a gamma-Poisson posterior, so a
  neighbourhood seen a few times is not trusted) times the tenant's expected volume. Later tickets that
  close to an active incident's tickets attach to it. A young topic's own rise must make its
  neighbourhood unusual too (p <= ``CONFIRM_P``): a topic split off an old one is no new problem.
- **halo**: a rarely seen problem's few tickets are often not all placed in its topic: the ones the
  topic model could place nowhere start topics of their own (or join one still young or tiny), naming
  the topic as a neighbour. A topic's halo is its own tickets and those strays (tickets of a topic
  younger than ``ESTABLISHED_HOURS`` or with at most ``SMALL_TOPIC`` tickets, each counted in the halo
  of every topic it names); its expected volume is its learnt share of the tenant's, as a topic's. On
  each ticket the halos of its topic and of the neighbours it names (established topics, whose halo
  has counted ``ESTABLISHED_HOURS`` itself) are tested in each window that holds a stray (without one
  the halo is the topic's own test); a rise alerts as a spike of the halo's topic. Tickets placed in
  an established topic do not count towards their neighbours' halos: a big topic's many borderline
  tickets would make a quiet neighbour's halo as busy as the big topic.
- **concentration**: one value of a segment (plan, region, organisation, channel, locale, brand)
  rises while the rest of the topic stays inside its band.
- **sentiment** (each new ticket): the mean VADER compound score of a segment's (topic, plan tier,
  organisation) tickets in the last 6 h against the segment's learnt mean and spread (Student t).
- **drop** (every 15 minutes of event time): tickets in the trailing 1 h and 3 h of a channel, form or
  all tickets, lower tail, tested only where at least ``drop_min_expected`` were expected; a channel or a
  form is also tested against its usual share of all the window's tickets (beta-binomial).

False alarms across all topics: every kind gets ``alarm_budget_per_week * sensitivity[kind] / 5``
expected false alarms a week. Its per-test threshold is that share divided by the number of tests the
kind ran in the past week (counting each series, window and hour once, since tests inside one hour are
nearly the same test; a kind that has tested for less than a week, as after a backfill, has its count
scaled up to a week): a Bonferroni bound on false alarms per week over every series, whatever the number
of topics. A plan tier's multiplier applies when the tier carries most of the window. Each ``noise``
mark on an incident divides that series and kind's threshold by 10 (up to 1000); each ``useful`` mark
takes one step back.

Incidents
---------
One per problem: the key is (series, family), the families being volume (spike, new_topic,
concentration), sentiment and drop. An alert on a key with an active incident updates it; matching
tickets attach to it; it notifies again only when it grows materially (twice the customers it had at the
last notification, and at least five more). It resolves itself once the series has been back inside its
band for ``resolve_after_minutes``, and reopens if the same rise comes back within ``REOPEN_AFTER``. People acknowledge, resolve, dismiss or reopen through the API; what
was announced hears of each (acknowledged, resolved, reopened) once; a dismissed key stays quiet for a day.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from scipy import special

from server.detect.volume import VolumeDetector
from server.incidents.settings import DetectionSettings
from server.incidents.stats import band, lower_tail, surprise, upper_tail
from server.incidents.words import RISING_AGAIN, STILL_UNUSUAL, label_of, sentence, title

HOUR = 3600.0
WEEK = 7 * 86400.0
#: Trailing windows (seconds) of the spike tests and of the drop tests.
SPIKE_WINDOWS = (1800.0, 7200.0, 21600.0)
#: At most this many of a ticket's neighbour topics join its topic's group test.
GROUP_NEIGHBOURS = 3
#: A topic's own rise must make its group at least this unusual (see the module docstring).
CONFIRM_P = 0.02
DROP_WINDOWS = (3600.0, 10800.0)
#: Event-time period of the drop tests and of the resolve checks.
TICK = 900.0
#: Segment dimensions of concentration and sentiment (names in ``Observation.segments``).
CONCENTRATION_DIMS = ("plan", "region", "organization", "channel", "locale", "brand")
SENTIMENT_DIMS = ("plan", "organization")
FAMILY = {"spike": "volume", "new_topic": "volume", "concentration": "volume", "sentiment": "sentiment",
          "drop": "drop"}
KINDS = tuple(FAMILY)
#: Hours of baseline a topic needs before it is tested as established (before: as a new topic).
ESTABLISHED_HOURS = 24
#: Event time a tenant's stream must span before volume incidents open (every topic is new at first).
TENANT_WARMUP = 2 * 86400.0
#: A closed hour with a tail probability below this is not learnt, unless it is the (patience+1)th in a row.
OUTLIER_P = 0.01
OUTLIER_PATIENCE = 6
#: Hours an incident may hold its series' baseline still; after that the change is the new normal.
PROTECT_HOURS = 24
#: Sentiment: tickets a segment needs before it is tested, tickets in a tested window, window length.
SENTIMENT_WARMUP = 40
SENTIMENT_MIN = 8
#: Tickets a topic must have gathered before its own share alone sets its expectation.
SMALL_TOPIC = 10
#: Least fall of the mean compound score (on -1..1) worth an incident.
SENTIMENT_EFFECT = 0.3
SENTIMENT_WINDOW = 21600.0
#: A silence this long (and longer than what came after it) before a change of tone's latest tickets
#: separates them from cross tickets before it (``Engine._tone_onset``).
TONE_SILENCE = 3600.0
#: Closed hours kept per series (for evidence and charts).
KEEP_HOURS = 14 * 24
#: Most tickets (and their details) an incident keeps for evidence; all ids are kept.
MAX_REPRESENTATIVES = 3
#: A volume incident's sentence tells its tickets' tone when at least this many are this many standard
#: errors below the mean sentiment of a topic that has learnt at least this many tickets.
TONE_MIN_TICKETS = 3
TONE_Z = 3.0
TONE_MIN_LEARNT = 30
SUPPRESS_AFTER_DISMISS = 86400.0
#: An incident the detector resolved reopens when its series rises again within this long.
REOPEN_AFTER = 12 * 3600.0
#: After a person resolved an incident, a rise on its series reopens it (it was not over) until the
#: series has been calm this long in a row, or REOPEN_AFTER has passed; after that a rise is new.
CALM_TO_CLOSE = 2 * 3600.0
#: Pages customers met friction on before writing: each page's usual share of tickets whose requester
#: met friction there first is learnt with this half-life (at most ``MAX_TRACKED_PAGES`` pages, the least
#: seen forgotten first). An incident names a page (in its sentence, and with a known-issue banner on it)
#: when at least two of its customers, and a third of them, met friction there first, and that many is
#: less likely than ``PAGE_ALPHA`` at the page's share (binomial tail): a page everyone fails on is no
#: clue to any one incident. The share it is judged at is the larger of the page's usual share and its
#: share among the other tickets of the last ``RECENT_PAGES`` (at most ``MAX_RECENT_PAGES`` of them, kept
#: from the first ticket with widget friction on): a page everyone is failing on right now, or a widget
#: installed after weeks of ticket history were read (whose usual shares are then near nought), is no
#: clue either; the incident's customers must have met it more than the customers writing beside them.
PAGE_HALFLIFE = 7 * 86400.0
MAX_TRACKED_PAGES = 2000
PAGE_ALPHA = 0.01
RECENT_PAGES = 6 * 3600.0
MAX_RECENT_PAGES = 5000
#: Channel and form shares: the prior of their over-dispersion and its weight (in binomial variances).
MIX_RHO_PRIOR = 0.01
MIX_PRIOR_WEIGHT = 50.0
#: A topic's hourly residual counts towards its over-dispersion up to this many Poisson deviations.
DISP_CLIP = 4.0
#: The nearby-tickets test (see the module docstring): cosine similarities that make two tickets about
#: the same thing, the span their background rate is learnt over, the most embeddings kept, and the prior
#: extra-Poisson variance (1/r) of a neighbourhood's rate from one hour to the next.
NEAR_SIMILARITY = (0.6, 0.7)
NEAR_HISTORY = 7 * 86400.0
NEAR_MAX = 10000
#: Evidence keys that record merges (a stronger alert refreshes the rest of the evidence, not these).
MERGE_MARKS = ("merged_incidents", "merged_into_incident")
NEAR_DISPERSION = 0.2
#: Sentiment pools of plans and organisations: past this many, those with nothing recent are dropped.
MAX_POOLS = 5000
#: Segment values' display names kept (the latest seen first to go when full is the oldest named).
MAX_NAMES = 20000


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


class Engine:
    """Detection for one tenant. Feed it with :meth:`observe` (tickets, in log order) and
    :meth:`advance` (event time passing); collect what changed with :meth:`take_changes`."""

    def __init__(self, settings: DetectionSettings | None = None) -> None:
        self.settings = settings or DetectionSettings()
        self.watermark: float | None = None
        self.series: dict[str, _Series] = {}
        self.sentiment: dict[str, list[float]] = {}  # segment -> [n, mean, m2] (warm EW)
        self.incidents: dict[int, IncidentState] = {}
        self.active: dict[tuple[str, str], int] = {}
        self.suppressed: dict[tuple[str, str], float] = {}
        self.noise: dict[tuple[str, str], int] = {}
        self.releases: list[tuple[float, str, str | None]] = []
        self.next_id = 1
        self.tests: dict[str, deque[tuple[float, int]]] = {k: deque() for k in KINDS}
        #: Event time of each kind's first counted test: the span its test count covers, up to a week.
        self.tests_since: dict[str, float] = {}
        self._tested: dict[str, set[tuple[str, float, float]]] = {k: set() for k in KINDS}
        self.first_ts: float | None = None
        self.new_topic_prior = [20.0, 1.5, 5.25]  # [weight, mean, second moment] of first-day requesters
        self._next_tick: float | None = None
        self._changed: set[int] = set()
        self._attached: list[tuple[int, str, datetime]] = []
        self._points: list[tuple[str, float, int, int, float, int, int]] = []
        self._notify: list[tuple[int, str, int]] = []
        self.live = True

    # -- inputs ------------------------------------------------------------------------------------
    def configure(self, settings: DetectionSettings) -> None:
        self.settings = settings

    def release(self, version: str, at: datetime, description: str | None = None) -> None:
        ts = _ts(at)
        self.releases = [r for r in self.releases if r[1] != version]
        insort(self.releases, (ts, version, description))
        del self.releases[:-100]

    def feedback(self, incident_id: int, verdict: str, by: str | None = None, was: str | None = None) -> None:
        """A person's mark on an incident: ``noise`` raises the bar of its series and kind a step (at most
        three), ``useful`` takes one back. Each person's mark on an incident counts once: the same mark
        again changes nothing, and a changed mark first takes back the step the earlier one made (``was``:
        the mark it replaces, as the API recorded it, for a mark made before this engine kept them)."""
        inc = self.incidents.get(incident_id)
        if inc is None or verdict not in ("noise", "useful"):
            return
        key = (inc.series, inc.kind)
        marks: dict[str, tuple[str, int]] = inc.__dict__.setdefault("marks", {})  # absent from older checkpoints
        if by is not None and by not in marks and was in ("noise", "useful") and was != verdict:
            marks[by] = (was, 1 if was == "noise" else -1)  # made before marks were kept: a whole step
        if by is not None and by in marks:
            before, step = marks[by]
            if before == verdict:
                return
            self.noise[key] = min(3, max(0, self.noise.get(key, 0) - step))
            if before == "noise":
                inc.noise = max(0, inc.noise - 1)
            else:
                inc.useful = max(0, inc.useful - 1)
        level = self.noise.get(key, 0)
        if verdict == "noise":
            inc.noise += 1
            self.noise[key] = min(3, level + 1)
        else:
            inc.useful += 1
            self.noise[key] = max(0, level - 1)
        if by is not None:
            marks[by] = (verdict, self.noise[key] - level)

    def set_status(self, incident_id: int, status: str, by: str, at: datetime) -> None:
        """Mirror a person's status change (made through the API) into the engine's state."""
        inc = self.incidents.get(incident_id)
        if inc is None or inc.status == status:
            return
        key = (inc.series, inc.family)
        was_active, before = inc.active, inc.status
        inc.status, inc.status_by, inc.status_changed_at = status, by, at
        if "reopened" in inc.evidence:  # a person's decision since: the reopening is no longer news
            inc.evidence = {k: v for k, v in inc.evidence.items() if k != "reopened"}
        if status in ("resolved", "dismissed"):
            inc.resolved_at = at if status == "resolved" else inc.resolved_at
            if was_active and inc.notifications:  # close what was announced: the Slack thread, the PagerDuty alert
                self._queue_notification(inc, "resolved")
            led = {key, *(k for k, v in self.active.items() if v == incident_id)}
            self._release(incident_id)
            if status == "resolved" and was_active:  # a rise before it calms down reopens it
                held = self.__dict__.setdefault("held", {})
                for k in led:  # its own series, and those of incidents merged into it
                    held[k] = (incident_id, _ts(at), None)
            if status == "dismissed":  # quiet on every series that led to it (those merged into it too)
                for k in led:
                    self.suppressed[k] = _ts(at) + SUPPRESS_AFTER_DISMISS
        elif status in ("open", "acknowledged"):
            if status == "acknowledged" and was_active and inc.notifications:
                self._queue_notification(inc, "acknowledged")  # the thread and the PagerDuty alert: someone is on it
            elif (not was_active or before == "acknowledged") and inc.notifications:
                # a person says it is not over (the thread that said it ended hears so, PagerDuty alerts
                # again), or takes an acknowledgement back (the thread and its parent stop saying someone
                # is on it)
                self._queue_notification(inc, "reopened")
            inc.resolved_at = None
            inc.calm_since = None
            current = self.active.get(key)
            if current is None:
                self.active[key] = incident_id
                self.suppressed.pop(key, None)
        self._changed.add(incident_id)

    def merge_incidents(self, absorbed: int, into: int, by: str, at: datetime) -> None:
        """A person said incident ``absorbed`` is the same problem as ``into`` (both active, one family):
        ``into`` takes its tickets, customers, accounts and pages, and from now on what would have
        attached to ``absorbed`` (tickets on its series, a renewed rise there) attaches to ``into``,
        until ``into`` ends; ``absorbed`` is resolved by that person, saying where it went."""
        gone, keep = self.incidents.get(absorbed), self.incidents.get(into)
        if gone is None or not gone.active or absorbed == into:
            return  # the API checked this; a replay of a merge that no longer applies changes nothing
        if keep is None or not keep.active or gone.family != keep.family:
            # The other one ended (by itself) before the detector read the merge: the person's decision
            # about this one stands, as the API already wrote it; nothing moves.
            self._resolve_merged(gone, into, by, at)
            self._release(gone.id)
            self._changed.add(gone.id)
            return
        # What ``keep`` takes is written down, so that undoing the merge (``unmerge_incidents``) gives
        # back exactly that: the tickets, customers, accounts and pages it did not have, the series that
        # led to ``gone``, and (below, as they come) the tickets that join through those series.
        keep.__dict__.setdefault("own_first_seen", keep.first_seen_at)
        taken: dict[str, Any] = {
            "tickets": [t for t in gone.ticket_ids if t not in keep.ticket_ids],
            "requesters": gone.requesters - keep.requesters, "accounts": gone.accounts - keep.accounts,
            "pages": {}, "keys": [k for k, v in self.active.items() if v == gone.id], "later": []}
        self._take_tickets(keep, gone, at)
        for path, (sessions, users) in gone.__dict__.get("pages", {}).items():
            mine = keep.__dict__.setdefault("pages", {}).setdefault(path, (set(), set()))
            taken["pages"][path] = (sessions - mine[0], users - mine[1])
            mine[0].update(sessions)
            mine[1].update(users)
        keep.__dict__.setdefault("merged_from", {})[gone.id] = taken
        self.__dict__.setdefault("merge_records", set()).add(keep.id)
        keep.first_seen_at = min(keep.first_seen_at, gone.first_seen_at)
        keep.last_activity_at = at
        merged = sorted(set(keep.evidence.get("merged_incidents", [])) | {gone.id})
        keep.evidence = {**keep.evidence, "merged_incidents": merged}
        self._resolve_merged(gone, keep.id, by, at)
        bank = self.__dict__.get("bank")
        series = self.series.get(gone.series)
        for t in [*(bank.tickets if bank is not None else ()), *(series.recent if series is not None else ())]:
            if t.incident == gone.id:  # its tickets now draw the tickets close to them to the incident it joined
                t.incident = keep.id
        self._redirect(gone.id, keep.id)
        self._maybe_grew(keep)
        self._changed |= {keep.id, gone.id}

    def unmerge_incidents(self, absorbed: int, into: int, status: str, by: str, at: datetime) -> None:
        """A person undid the merge of ``absorbed`` into ``into``: ``absorbed`` is active again (in
        ``status``, as the API wrote it) with its own tickets, customers, accounts and pages, those that
        joined through its series while it was merged included; ``into`` gives back what it took, and the
        series that led to ``absorbed`` lead to it again."""
        gone, keep = self.incidents.get(absorbed), self.incidents.get(into)
        if gone is None or keep is None or gone.evidence.get("merged_into_incident") != into:
            return  # the API checked this; a replay of an undo that no longer applies changes nothing
        taken = keep.__dict__.get("merged_from", {}).pop(absorbed, None)
        merged = [i for i in keep.evidence.get("merged_incidents", []) if i != absorbed]
        keep.evidence = {k: v for k, v in keep.evidence.items() if k != "merged_incidents"}
        if merged:
            keep.evidence["merged_incidents"] = merged
        gone.evidence = {k: v for k, v in gone.evidence.items() if k not in ("merged_into_incident", "status_before_merge")}
        gone.status, gone.status_by, gone.status_changed_at, gone.resolved_at = status, by, at, None
        gone.calm_since, gone.last_activity_at = None, at
        keys = [(gone.series, gone.family)]
        if taken is not None:
            later = [tid for tid, _who, _account in taken["later"]]
            back = set(taken["tickets"]) | set(later)
            keep.ticket_ids = [t for t in keep.ticket_ids if t not in back]
            # Attachments to ``keep`` not yet written (a merge and its undo in one batch) are dropped; those
            # written before are detached. The writer applies detachments before attachments.
            self._attached = [a for a in self._attached if not (a[0] == keep.id and a[1] in back)]
            self.__dict__.setdefault("_detached", []).extend((keep.id, t) for t in sorted(back))
            keep.requesters -= taken["requesters"]
            keep.accounts -= taken["accounts"]
            for path, (sessions, users) in taken["pages"].items():
                mine = keep.__dict__.get("pages", {}).get(path)
                if mine is not None:
                    mine[0].difference_update(sessions)
                    mine[1].difference_update(users)
                    if not mine[0] and not mine[1]:
                        del keep.__dict__["pages"][path]
            for tid, who, account in taken["later"]:  # they joined through its series: they are its
                if tid not in gone.ticket_ids:
                    gone.ticket_ids.append(tid)
                    self._attached.append((gone.id, tid, at))
                gone.requesters.add(who)
                if account:
                    gone.accounts.add(account)
            bank = self.__dict__.get("bank")
            for t in [*(bank.tickets if bank is not None else ()),
                      *(t for s in {keep.series, gone.series} if s in self.series for t in self.series[s].recent)]:
                if t.incident == keep.id and t.ticket_id in back:
                    t.incident = gone.id
            keys += [tuple(k) for k in taken["keys"]]
        own = keep.__dict__.get("own_first_seen", keep.first_seen_at)
        others = [self.incidents[i].first_seen_at for i in keep.__dict__.get("merged_from", {}) if i in self.incidents]
        keep.first_seen_at = min([own, *others])
        if not keep.__dict__.get("merged_from"):
            self.__dict__.get("merge_records", set()).discard(keep.id)
        if status in ("open", "acknowledged"):
            for k in dict.fromkeys(keys):  # back to it, unless another incident took the series meanwhile
                if k != (keep.series, keep.family) and self.active.get(k) in (None, keep.id):
                    self.active[k] = gone.id
                    self.suppressed.pop(k, None)
        if gone.notifications:  # its thread said it was merged away: it hears that it is back
            self._queue_notification(gone, "reopened")
        self._changed |= {keep.id, gone.id}

    @staticmethod
    def _fresh(inc: IncidentState, t: _Ticket) -> tuple[bool, bool, bool]:
        """Whether ``t``, its writer and its account are new to ``inc`` (before attaching it)."""
        return (t.ticket_id not in inc.ticket_ids, t.who not in inc.requesters,
                bool(t.account) and t.account not in inc.accounts)

    def _through_merge(self, inc: IncidentState, key: tuple[str, str], t: _Ticket,
                       fresh: tuple[bool, bool, bool]) -> None:
        """A ticket that joined ``inc`` through the series ``key`` of an incident merged into it goes
        back with that incident if the merge is undone (with its writer and account, when they were
        new to ``inc``)."""
        if not fresh[0]:
            return
        for taken in inc.__dict__.get("merged_from", {}).values():
            if key in taken["keys"]:
                taken["later"].append((t.ticket_id, t.who, t.account))
                if fresh[1]:
                    taken["requesters"].add(t.who)
                if fresh[2]:
                    taken["accounts"].add(t.account)
                return

    def _take_tickets(self, keep: IncidentState, gone: IncidentState, at: datetime) -> None:
        """``keep`` takes ``gone``'s tickets (attached at ``at``), customers and accounts."""
        for tid in gone.ticket_ids:
            if tid not in keep.ticket_ids:
                keep.ticket_ids.append(tid)
                self._attached.append((keep.id, tid, at))
        keep.requesters |= gone.requesters
        keep.accounts |= gone.accounts

    def _resolve_merged(self, gone: IncidentState, into: int, by: str, at: datetime) -> None:
        before = gone.status
        gone.status, gone.status_by, gone.status_changed_at, gone.resolved_at = "resolved", by, at, at
        gone.evidence = {**gone.evidence, "merged_into_incident": into, "status_before_merge": before}
        if gone.notifications:  # close what was announced about it
            self._queue_notification(gone, "resolved")

    def _redirect(self, gone: int, keep: int) -> None:
        """Every series that led to incident ``gone`` leads to ``keep`` now."""
        for k in [k for k, v in self.active.items() if v == gone]:
            self.active[k] = keep

    def _release(self, incident_id: int) -> None:
        """The incident ended: every series leading to it (its own, and those of incidents merged into
        it) is free for a new incident."""
        for k in [k for k, v in self.active.items() if v == incident_id]:
            del self.active[k]

    def merge_topic(self, absorbed: int, into: int) -> None:
        """Topic ``absorbed`` was merged into ``into``: its recent tickets and incidents follow."""
        self._merge_series(self.series, f"topic:{absorbed}", f"topic:{into}")
        halos = self.__dict__.get("halos")
        if halos is not None:
            self._merge_series(halos, f"halo:{absorbed}", f"halo:{into}")
        for family in ("volume", "sentiment"):
            old = self.active.pop((f"topic:{absorbed}", family), None)
            if old is None:
                continue
            inc = self.incidents[old]
            target = self.active.get((f"topic:{into}", family))
            if inc.series != f"topic:{absorbed}":  # the topic only led to an incident merged with another
                if target is None:
                    self.active[(f"topic:{into}", family)] = old
                continue
            if target is None or target == old:  # (the same incident, which the other topic already led to)
                inc.series, inc.topic_id = f"topic:{into}", into
                self.active[(inc.series, family)] = old
            else:  # two incidents turned out to be one problem: the older keeps the tickets
                keep = self.incidents[min(old, target)]
                gone = self.incidents[max(old, target)]
                keep.series, keep.topic_id = f"topic:{into}", into
                self._take_tickets(keep, gone, gone.detected_at)
                gone.status, gone.status_by, gone.status_changed_at = "resolved", "detector", gone.detected_at
                gone.resolved_at = gone.last_activity_at or gone.detected_at
                gone.evidence = {**gone.evidence, "merged_into_incident": keep.id}
                self._redirect(gone.id, keep.id)  # incl. series people merged into it earlier
                self.active[(keep.series, family)] = keep.id
                self._changed |= {keep.id, gone.id}
            self._changed.add(old)
        for inc_id in self.__dict__.get("merge_records", ()):  # an undone merge gives back the topic's new key
            inc = self.incidents.get(inc_id)
            for taken in (inc.__dict__.get("merged_from", {}) if inc is not None else {}).values():
                taken["keys"] = [(f"topic:{into}" if k == f"topic:{absorbed}" else k, f) for k, f in taken["keys"]]

    def _merge_series(self, store: dict[str, _Series], absorbed: str, into: str) -> None:
        """Series ``absorbed`` of ``store`` joins ``into`` (a topic's, or its halo's, after a topic merge)."""
        a, b = store.pop(absorbed, None), store.get(into)
        if a is None:
            return
        if b is None:
            a.key = into
            store[into] = a
            return
        seen: set[str] = set()  # a ticket can be in both halos (one topic's, and its neighbour's)
        merged = [t for t in sorted(list(a.recent) + list(b.recent), key=lambda t: t.ts)
                  if not (t.ticket_id in seen or seen.add(t.ticket_id))]
        b.recent = deque(merged)
        b.who |= a.who
        b.tickets += a.tickets
        # The survivor now receives both topics' tickets: its share is that of their union,
        # relearnt from their hourly history. (A sum of the two learnt shares would count a
        # young topic's first hours, always busy since a ticket made it, at full weight: a
        # topic that absorbed many young ones expected twice its traffic.)
        union = self._union_share(a, b)
        if union is not None:
            b.share_num, b.share_den = union
        b.disp_num, b.disp_den = a.disp_num + b.disp_num, a.disp_den + b.disp_den
        b.seen += a.seen
        b.hours = max(a.hours, b.hours)
        b.first_ts = min(a.first_ts, b.first_ts)
        if a.baseline.n_learnt > b.baseline.n_learnt:
            b.baseline = a.baseline
        b.history = _merged_history(a.history, b.history)

    def _union_share(self, a: _Series, b: _Series) -> tuple[float, float] | None:
        """Share learning's weighted sums for the union of two topics, from their hourly history."""
        total = self.series.get("all")
        if total is None or not total.history:
            return None
        who: dict[float, int] = {}
        for history in (a.history, b.history):
            for start, _tickets, n, *_ in history:
                who[start] = who.get(start, 0) + n
        if not who:
            return None
        first, last = min(who), total.history[-1][0]
        decay = 0.5 ** (1.0 / 168.0)
        num = den = 0.0
        for start, tickets, *_ in total.history:
            if start >= first:
                w = decay ** ((last - start) / HOUR)
                num += w * who.get(start, 0)
                den += w * tickets
        return (num, den) if den > 0 else None

    def observe(self, obs: Observation, describe: Describe = lambda _t: {}) -> None:
        """One new ticket in a topic. ``describe(topic_id)`` gives the topic's label and keywords."""
        ts = _ts(obs.at)
        self.live = obs.live
        self.advance(obs.at, describe)
        who = obs.requester or f"ticket:{obs.ticket_id}"
        ticket = _Ticket(ts, obs.ticket_id, who, obs.account, dict(obs.segments), obs.sentiment, obs.text,
                         pages=tuple(obs.pages))
        self._count_pages(ts, {path for path, _session in obs.pages}, obs.ticket_id)
        keys = [f"topic:{obs.topic_id}", "all"]
        if obs.segments.get("channel"):
            keys.append(f"channel:{obs.segments['channel']}")
        if obs.segments.get("form"):
            keys.append(f"form:{obs.segments['form']}")
        for key in keys:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series(key, "requesters" if key.startswith("topic:") else "tickets", ts)
            series.last_ts = max(series.last_ts, ts)
            if ts >= series.bucket:  # later than the open hour's start: counts; older hours are closed
                series.tickets += 1
                series.who.add(who)
            if key.startswith("topic:"):
                series.seen += 1
                if ts - series.first_ts < 86400.0:
                    series.first_day_who.add(who)
                self._remember(series, ticket)
        self._count_halos(obs, ticket)
        self._pool(ticket)
        self._learn_names(obs)
        sims = None
        if obs.vector is not None:
            bank = self.__dict__.get("bank")  # absent from checkpoints written before the bank
            if bank is None:
                bank = self.bank = _Bank(len(obs.vector))
            vector = np.asarray(obs.vector, dtype=np.float32)
            bank.add(vector, ticket)
            sims = bank.recent()[0] @ vector
        topic = self.series[f"topic:{obs.topic_id}"]
        self._attach_to_active(topic, ticket, obs.at)
        if sims is not None and not ticket.claimed:
            self._attach_near(ticket, sims, obs.at)
        if obs.live and self.settings.enabled and self._warm():
            self._test_volume(topic, ticket, describe, obs.neighbours, sims)
            self._test_sentiment(obs, ticket, describe)
        self._learn_segments(topic, ticket)
        self._learn_sentiment(obs)

    def _count_halos(self, obs: Observation, ticket: _Ticket) -> None:
        """Count the ticket in the halo of its topic and of each neighbour topic it names (see the
        module docstring): the tickets placed in a topic or nearly placed there."""
        halos = self.__dict__.setdefault("halos", {})  # absent from checkpoints written before halos
        topic = self.series[f"topic:{obs.topic_id}"]
        stray = topic.seen <= SMALL_TOPIC or topic.hours < ESTABLISHED_HOURS
        for topic_id in dict.fromkeys((obs.topic_id, *(obs.neighbours[:GROUP_NEIGHBOURS] if stray else ()))):
            key = f"halo:{topic_id}"
            halo = halos.get(key)
            if halo is None:
                halo = halos[key] = _Series(key, "requesters", ticket.ts)
            halo.last_ts = max(halo.last_ts, ticket.ts)
            if ticket.ts >= halo.bucket:
                halo.tickets += 1
                halo.who.add(ticket.who)
            halo.seen += 1
            self._remember(halo, ticket)

    def _learn_names(self, obs: Observation) -> None:
        """Remember the latest display name of each named segment value (an organization's name)."""
        given = getattr(obs, "names", None)  # absent from observations pickled before names (recorded replays)
        if not given:
            return
        names = self.__dict__.setdefault("names", {})  # absent from older checkpoints
        for dim, name in given.items():
            value = obs.segments.get(dim)
            if value and name:
                key = f"{dim}:{value}"
                names.pop(key, None)  # re-inserted: the dict's order is by last naming
                names[key] = str(name)[:255]
        while len(names) > MAX_NAMES:
            del names[next(iter(names))]

    def label(self, series: str) -> str:
        """A segment series as people read it: ``Kestrel Logistics (organization 900002)`` when the
        value's name is known, else the series key."""
        name = self.__dict__.get("names", {}).get(series)
        dim, _, value = series.partition(":")
        return f"{name} ({dim} {value})" if name else series

    def _warm(self) -> bool:
        return self.first_ts is not None and self.watermark is not None and self.watermark - self.first_ts >= TENANT_WARMUP

    def _remember(self, series: _Series, ticket: _Ticket) -> None:
        _push(series.recent, ticket, max(SPIKE_WINDOWS[-1], SENTIMENT_WINDOW))

    def _pool(self, ticket: _Ticket) -> None:
        """Keep the ticket in its plan's and organisation's sentiment pools (last SENTIMENT_WINDOW)."""
        pools = self.__dict__.setdefault("pools", {})  # absent from checkpoints written before pools
        for dim in SENTIMENT_DIMS:
            value = ticket.segments.get(dim)
            if value:
                _push(pools.setdefault(f"{dim}:{value}", deque()), ticket, SENTIMENT_WINDOW)
        if len(pools) > MAX_POOLS:  # forget segments with nothing recent
            for key in [k for k, q in pools.items() if not q or q[-1].ts <= ticket.ts - SENTIMENT_WINDOW]:
                del pools[key]

    # -- time --------------------------------------------------------------------------------------
    def advance(self, now: datetime, describe: Describe = lambda _t: {}) -> None:
        """Event time has reached ``now``: close finished hours, run drop tests and resolve checks."""
        ts = _ts(now)
        if self.first_ts is None:
            self.first_ts = ts
        if self.watermark is not None and ts <= self.watermark:
            return
        self.watermark = ts
        if self._next_tick is None:
            self._next_tick = (math.floor(ts / TICK) + 1) * TICK
        while self._next_tick <= ts:
            tick = self._next_tick
            ordered = sorted(self.series.values(), key=lambda x: x.key != "all")  # topics need all's hour
            for series in [*ordered, *self.__dict__.get("halos", {}).values()]:
                while series.bucket + HOUR <= tick:
                    self._close_hour(series)
            self._tick(tick, describe)
            self._next_tick += TICK
            if ts - tick > 7 * 86400.0:  # a long gap (no traffic for a week): skip ahead
                self._next_tick = (math.floor(ts / TICK)) * TICK

    def _close_hour(self, series: _Series) -> None:
        start = series.bucket
        y = series.count()
        mu, phi = self.forecast(series, start, start + HOUR)
        lo, hi = band(mu, phi)
        series.history.append((start, series.tickets, len(series.who), mu, lo, hi))
        halo = series.key.startswith("halo:")
        if not halo and (series.key.startswith("topic:") or series.tickets or series.baseline.n_learnt):
            self._points.append((series.key, start, series.tickets, len(series.who), mu, lo, hi))
        # An hour far outside its band is not learnt (up to OUTLIER_PATIENCE in a row: then it is the
        # new normal), so that a drop or a spike does not drag the baseline along before it is detected.
        outlier = min(upper_tail(y, mu, phi), lower_tail(y, mu, phi)) < OUTLIER_P and series.baseline.n_learnt >= ESTABLISHED_HOURS
        series.outliers = series.outliers + 1 if outlier else 0
        # The spread, though, is learnt from every hour no incident holds, outliers included: those are
        # the tails it describes (learnt from the typical hours only, it came out about half the truth,
        # and a busy topic's ordinary 3-4x hour looked like an incident).
        if not self._protected(series, start):
            level = series.outliers == 0 or series.outliers > OUTLIER_PATIENCE
            if level:
                series.baseline.learn_one({"t": start, "y": math.log1p(y)})
            if series.measure == "requesters":  # a topic, or a topic's halo
                self._learn_share(series, start, y, mu, y if level else min(max(y, lo), max(hi, 1)))
            elif series.key != "all":
                self._learn_mix(series, start, y, level)
        series.hours += 1
        series.bucket, series.tickets, series.who = start + HOUR, 0, set()
        if (series.key.startswith("topic:") and not series.first_day_counted
                and start + HOUR - series.first_ts >= 86400.0):
            series.first_day_counted = True
            if self.first_ts is None or series.first_ts - self.first_ts < TENANT_WARMUP:
                series.first_day_who = set()
                return  # topics found while the tenant warms up are old topics, not new ones
            n = float(len(series.first_day_who))
            w, m, m2 = self.new_topic_prior
            w = min(w + 1.0, 500.0)
            m += (n - m) / w
            m2 += (n * n - m2) / w
            self.new_topic_prior = [w, m, m2]
            series.first_day_who = set()

    def forecast(self, series: _Series, t0: float, t1: float) -> tuple[float, float]:
        """Expected count of ``series`` over (t0, t1] and its over-dispersion.

        A topic expects its share of the tenant's expected volume: the tenant's total is dense enough
        for hour-of-day and day-of-week profiles, a topic's own hourly counts mostly are not (a slot seen
        once a day with one ticket a week is noise); a rise at a busy hour is thus expected to be busier.
        """
        if series.measure != "requesters":  # not a topic (nor a topic's halo)
            return series.forecast(t0, t1)
        total = self.series.get("all")
        if total is None:
            return 1e-3, 1.0
        share = series.share()
        mu = var = 0.0
        inv_r = series.inv_r()
        for part in total.hourly(t0, t1):
            m = share * part
            mu += m
            var += m + inv_r * m * m
        mu = max(mu, 1e-3)
        return mu, max(var / mu, 1.0)

    def _learn_share(self, series: _Series, start: float, y: int, mu: float, y_level: float | None = None) -> None:
        """A topic's closed hour teaches its over-dispersion (from ``y``) and its share of the tenant's
        volume (from ``y_level``, by default ``y``; an outlier hour gives its band's edge)."""
        total = self.series.get("all")
        if total is None or not total.history or total.history[-1][0] != start:
            return
        y_all = total.history[-1][1]
        decay = 0.5 ** (1.0 / 168.0)
        if series.share_den > 0:  # over-dispersion of the counts around what the share predicted
            r = min(max(y - mu, -DISP_CLIP * math.sqrt(mu) - 3.0), DISP_CLIP * math.sqrt(mu) + 3.0)
            series.disp_num = series.disp_num * decay + r * r - mu
            series.disp_den = series.disp_den * decay + mu * mu
        series.share_num = series.share_num * decay + (y if y_level is None else y_level)
        series.share_den = series.share_den * decay + y_all

    def _learn_mix(self, series: _Series, start: float, n: int, level: bool = True) -> None:
        """A channel's or form's closed hour teaches its share of all tickets and that share's spread."""
        total = self.series.get("all")
        if total is None or not total.history or total.history[-1][0] != start:
            return
        n_all = total.history[-1][1]
        decay = 0.5 ** (1.0 / 168.0)
        if series.mix_den > 0 and n_all >= 2:
            s = series.mix()
            v = n_all * s * (1.0 - s)
            series.mix_disp_num = series.mix_disp_num * decay + (n - s * n_all) ** 2 - v
            series.mix_disp_den = series.mix_disp_den * decay + v * (n_all - 1)
        if not level:
            return
        series.mix_num = series.mix_num * decay + n
        series.mix_den = series.mix_den * decay + n_all

    def _protected(self, series: _Series, start: float) -> bool:
        key = "topic:" + series.key[5:] if series.key.startswith("halo:") else series.key  # its topic's incident
        for family in ("volume", "drop"):
            inc_id = self.active.get((key, family))
            if inc_id is not None:
                inc = self.incidents[inc_id]
                return start - _ts(inc.first_seen_at) < PROTECT_HOURS * HOUR
        return False

    def _tick(self, now: float, describe: Describe) -> None:
        for key, series in list(self.series.items()):
            if key.startswith("topic:"):
                continue
            self._test_drop(series, now, describe)
        for inc_id in list(dict.fromkeys(self.active.values())):  # an incident that others joined leads several
            if not self.incidents[inc_id].active:  # (never expected: every ending releases its series)
                self._release(inc_id)
                continue
            self._check_resolve(self.incidents[inc_id], now)
        held = self.__dict__.get("held", {})
        for key, (inc_id, resolved, calm_since) in list(held.items()):
            inc = self.incidents[inc_id]
            if now - resolved > REOPEN_AFTER or inc.status != "resolved" or _ts(inc.status_changed_at) != resolved:
                del held[key]  # too long ago, or a person decided again since
            elif not self._calm(inc, now):
                held[key] = (inc_id, resolved, None)
            elif calm_since is None:
                held[key] = (inc_id, resolved, now)
            elif now - calm_since >= CALM_TO_CLOSE - HOUR:
                del held[key]  # two hours back inside its band (each test reads the hour before): it ended

    # -- thresholds ----------------------------------------------------------------------------------
    def _count_test(self, kind: str, series: str, window: float, now: float) -> None:
        hour = math.floor(now / HOUR)
        mark = (series, window, math.floor(now / min(window, HOUR)))  # one test per disjoint window
        seen = self._tested[kind]
        if mark in seen:
            return
        seen.add(mark)
        q = self.tests[kind]
        since = self.__dict__.setdefault("tests_since", {})  # absent from older checkpoints
        if kind not in since:  # the first test, or a checkpoint written before: its counts start at q[0]
            since[kind] = q[0][0] * HOUR if q else now
        if q and q[-1][0] == hour:
            q[-1] = (hour, q[-1][1] + 1)
        else:
            q.append((hour, 1))
            while q and q[0][0] <= hour - 168:
                q.popleft()
            self._tested[kind] = {m for m in seen if m[2] * min(m[1], HOUR) >= hour * HOUR}

    def _test_count(self, kind: str) -> int:
        """Tests of ``kind`` in the last week (the sum of its hourly counts, recounted when they change)."""
        q = self.tests[kind]
        if not q:
            return 0
        sig = (len(q), q[0], q[-1])
        memo = self.__dict__.setdefault("_counts", {})
        got = memo.get(kind)
        if got is None or got[0] != sig:
            got = memo[kind] = (sig, sum(c for _, c in q))
        return got[1]

    def alpha(self, kind: str, series: str, plan: str | None = None) -> float:
        """Per-test p-value threshold of ``kind`` on ``series`` (see the module docstring)."""
        s = self.settings
        if not s.kind_enabled(kind):
            return 0.0
        share = s.alarm_budget_per_week * s.sensitivity.get(kind, 1.0) / len(KINDS)
        share *= s.plan_multiplier(plan)
        q = self.tests[kind]
        n = self._test_count(kind)
        # Tests run only on live tickets after the tenant's warm-up (a kind may start later still): a
        # tenant that backfilled weeks of history has tested for hours, not for weeks, so its count is
        # scaled up from the span since the kind's first test, not since the first event.
        since = self.__dict__.get("tests_since", {}).get(kind, self.first_ts)
        if q and self.watermark is not None and since is not None:
            span = max(HOUR, min(WEEK, self.watermark - since))
            n = n * WEEK / span
        return share / max(n, 100.0) * 10.0 ** -self.noise.get((series, kind), 0)

    # -- volume tests ------------------------------------------------------------------------------
    def _window_p(self, series: _Series, now: float, width: float, young: bool,
                  first_in_window: bool) -> tuple[float, int, float, float, list[_Ticket]]:
        tickets = [t for t in series.in_window(now, width) if not t.claimed]
        n = len({t.who for t in tickets})
        if young:  # the first ticket made the topic; the prior is of the others
            mu, phi = self._new_topic_expectation(width)
            k = n - (1 if first_in_window else 0)
            return upper_tail(k, mu, phi), n, mu + (1 if first_in_window else 0), phi, tickets
        mu, phi = self.forecast(series, now - width, now)
        # A topic with only a few tickets ever is not expected to be quieter than a new one: tiny topics
        # of an over-segmented tenant gather look-alike tickets in clumps their history cannot show.
        floor, floor_phi = self._new_topic_expectation(width)
        if series.seen < SMALL_TOPIC and floor > mu:
            mu, phi = floor, max(phi, floor_phi)
        return upper_tail(n, mu, phi), n, mu, phi, tickets

    def _new_topic_expectation(self, width: float) -> tuple[float, float]:
        """What a new topic of this tenant gathers beyond its first ticket over ``width`` seconds: mean
        and over-dispersion (variance / mean).

        New topics differ in rate: the prior's first-day counts are a gamma mixture of Poisson counts,
        whose variance is mean * (1 + Var(rate) * span / E(rate)). The extra-Poisson part grows with the
        span, so a 30-minute window is far less over-dispersed than a day, and is tested as such.
        """
        _w, m, m2 = self.new_topic_prior
        extra = max(m - 1.0, 0.05)
        var = max(m2 - m * m, extra)
        scale = min(1.0, width / 86400.0)
        return extra * scale, 1.0 + (var / extra - 1.0) * scale

    def _group_p(self, members: list[_Series], now: float, width: float
                 ) -> tuple[float, int, float, float, list[_Ticket]]:
        """The window test of several topics together: their requesters against the sum of their
        expectations (variances add)."""
        tickets: list[_Ticket] = []
        mu = var = 0.0
        for s in members:
            _p, _n, m, phi, part = self._window_p(s, now, width, s.hours < ESTABLISHED_HOURS, now - width < s.first_ts)
            tickets.extend(part)
            mu += m
            var += m * phi
        n = len({t.who for t in tickets})
        return upper_tail(n, mu, max(var / max(mu, 1e-9), 1.0)), n, mu, max(var / max(mu, 1e-9), 1.0), tickets

    def _halo_p(self, topic: _Series, neighbours: tuple[int, ...], now: float
                ) -> tuple[float, float, int, float, float, list[_Ticket], _Series] | None:
        """The halo test: the customers of each established topic's halo (its own tickets and those
        nearly placed in it), for the ticket's topic and the neighbours it names, in each window,
        against the halo's learnt share of the tenant's expected volume. The least likely, Bonferroni
        over the halos and windows tested, with the topic it is about."""
        halos = self.__dict__.get("halos", {})
        members = []
        for key in dict.fromkeys((topic.key, *(f"topic:{t}" for t in neighbours[:GROUP_NEIGHBOURS]))):
            owner, halo = self.series.get(key), halos.get("halo:" + key[6:])
            if (owner is not None and halo is not None and owner.hours >= ESTABLISHED_HOURS
                    and halo.hours >= ESTABLISHED_HOURS):
                members.append((owner, halo))
        best = None
        for owner, halo in members:
            for width in SPIKE_WINDOWS:
                tickets = [t for t in halo.in_window(now, width) if not t.claimed]
                n = len({t.who for t in tickets})
                if n < self.settings.min_requesters or len(tickets) == sum(
                        1 for t in owner.in_window(now, width) if not t.claimed):
                    continue  # too few, or no stray ticket: the topic's own test
                self._count_test("spike", halo.key, width, now)
                mu, phi = self.forecast(halo, now - width, now)
                floor, floor_phi = self._new_topic_expectation(width)
                if halo.seen < SMALL_TOPIC and floor > mu:  # as for a topic with few tickets ever
                    mu, phi = floor, max(phi, floor_phi)
                p = upper_tail(n, mu, phi)
                if best is None or p < best[0]:
                    best = (p, width, n, mu, phi, tickets, owner)
        if best is None:
            return None
        return (min(1.0, best[0] * len(SPIKE_WINDOWS) * len(members)), *best[1:])

    def _attach_near(self, ticket: _Ticket, sims: np.ndarray, at: datetime) -> None:
        """A ticket very close in meaning (NEAR_SIMILARITY[-1]) to the recent tickets of an active volume
        incident belongs to it, whichever topic it was placed in: one incident per problem."""
        _vectors, ts, tickets = self.bank.recent()
        idx = np.flatnonzero((sims >= NEAR_SIMILARITY[-1]) & (ts > ticket.ts - SPIKE_WINDOWS[-1]))
        owners = {tickets[i].incident for i in idx} - {None}
        owners = {i for i in owners if self.active.get((self.incidents[i].series, "volume")) == i}
        if owners:
            inc = self.incidents[min(owners)]
            self._attach(inc, ticket, at)
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc.id)

    def _near_p(self, topic: _Series, ticket: _Ticket, sims: np.ndarray | None, now: float, kind: str
                ) -> tuple[float, float, int, float, float, list[_Ticket]] | None:
        """The nearby-tickets test: customers whose tickets are close to this one in meaning, in each
        window, against that neighbourhood's rate over the past week (its share of all tickets, times
        the tenant's expected volume in the window). Whatever topics the tickets were placed in."""
        total = self.series.get("all")
        if sims is None or total is None:
            return None
        _vectors, ts, bank = self.bank.recent()
        ref = (ts <= now - SPIKE_WINDOWS[-1]) & (ts > now - NEAR_HISTORY)
        t_ref = int(ref.sum())
        if t_ref < 100:
            return None
        best = None
        tests = len(SPIKE_WINDOWS) * len(NEAR_SIMILARITY)
        volume = {width: self.forecast(total, now - width, now)[0] for width in SPIKE_WINDOWS}
        for level in NEAR_SIMILARITY:
            near = sims >= level
            c_ref = float((near & ref).sum())
            rate = (c_ref + 0.5) / (t_ref + 1.0)
            inv_r = 1.0 / (c_ref + 0.5) + NEAR_DISPERSION  # the rate's own uncertainty, and hour-to-hour swings
            for width in SPIKE_WINDOWS:
                idx = np.flatnonzero(near & (ts > now - width) & (ts <= now))
                tickets = [bank[i] for i in idx if not bank[i].claimed]
                who = {t.who for t in tickets}
                if len(who) < self.settings.min_requesters:
                    continue
                self._count_test(kind, "near:" + topic.key, width, now)
                mu = rate * volume[width]
                k = len(who - {ticket.who})  # this ticket is why the test runs: the others are the evidence
                p = min(1.0, upper_tail(k, mu, 1.0 + mu * inv_r) * tests)
                if best is None or p < best[0]:
                    best = (p, width, len(who), mu + 1.0, 1.0 + mu * inv_r, tickets)
        return best

    def _test_volume(self, topic: _Series, ticket: _Ticket, describe: Describe,
                     neighbours: tuple[int, ...] = (), sims: np.ndarray | None = None) -> None:
        now = ticket.ts
        young = topic.hours < ESTABLISHED_HOURS
        kind = "new_topic" if young else "spike"
        members = [topic] + [self.series[f"topic:{t}"] for t in neighbours[:GROUP_NEIGHBOURS]
                             if f"topic:{t}" in self.series]
        Best = tuple[float, float, int, float, float, list[_Ticket]]
        best: Best | None = None
        group: Best | None = None
        for width in SPIKE_WINDOWS:
            if len(members) > 1:
                gp, gn, gmu, gphi, gtickets = self._group_p(members, now, width)
                if gn >= self.settings.min_requesters:
                    self._count_test(kind, "group:" + topic.key, width, now)
                    if group is None or gp < group[0]:
                        group = (gp, width, gn, gmu, gphi, gtickets)
            first_in = now - width < topic.first_ts
            p, n, mu, phi, tickets = self._window_p(topic, now, width, young, first_in)
            if n < self.settings.min_requesters:
                continue
            self._count_test(kind, topic.key, width, now)
            if best is None or p < best[0]:
                best = (p, width, n, mu, phi, tickets)
        if best is not None and group is not None and group[0] * len(SPIKE_WINDOWS) > CONFIRM_P:
            best = None  # the topic rose, its group did not: tickets moved between neighbours
        if group is not None and (best is None or group[0] < best[0]):
            best = group
        if best is not None:
            best = (min(1.0, best[0] * len(SPIKE_WINDOWS)), *best[1:])
        near = self._near_p(topic, ticket, sims, now, kind)
        if young and best is not None and near is not None and near[0] > CONFIRM_P:
            best = None  # a young topic gathering tickets its neighbourhood in meaning always had: a fragment
        if near is not None and (best is None or near[0] < best[0]):
            best = near
        if best is not None:
            p, width, n, mu, phi, tickets = best
            plan = _dominant(tickets, "plan")
            if p <= self.alpha(kind, topic.key, plan):
                lo, hi = band(mu, phi)
                self._alert(Alert(kind, topic.key, p, "up", width, n, mu, lo, hi, tickets,
                                  self._segments(topic, tickets)), now, describe)
                return
        halo = self._halo_p(topic, neighbours, now)
        if halo is not None:
            p, width, n, mu, phi, tickets, owner = halo
            plan = _dominant(tickets, "plan")
            if p <= self.alpha("spike", owner.key, plan):
                lo, hi = band(mu, phi)
                self._alert(Alert("spike", owner.key, p, "up", width, n, mu, lo, hi, tickets,
                                  self._segments(owner, tickets)), now, describe)
                return
        if not young:
            self._test_concentration(topic, now, describe)

    def _segments(self, topic: _Series, tickets: list[_Ticket]) -> list[dict[str, Any]]:
        """Segment values that carry most of the window, with their usual share."""
        out = []
        for dim in CONCENTRATION_DIMS:
            values: dict[str, int] = {}
            for t in tickets:
                v = t.segments.get(dim)
                if v:
                    values[v] = values.get(v, 0) + 1
            if not values:
                continue
            value, count = max(values.items(), key=lambda kv: (kv[1], kv[0]))
            share = count / len(tickets)
            usual = self._share(topic, dim, value)
            if share >= 0.5 and share > 1.5 * usual:
                out.append(self._named({"name": dim, "value": value, "count": count, "share": round(share, 3),
                                        "baseline_share": round(usual, 3)}))
        return out

    def _named(self, segment: dict[str, Any]) -> dict[str, Any]:
        """The segment with its value's display name as ``label``, when one is known."""
        name = self.__dict__.get("names", {}).get(f"{segment['name']}:{segment['value']}")
        return {**segment, "label": name} if name else segment

    def _share(self, topic: _Series, dim: str, value: str) -> float:
        counts = topic.segment_counts.get(dim, {})
        k = max(len(counts), 1)
        return (counts.get(value, 0.0) + 0.5) / (topic.segment_total + 0.5 * (k + 1))

    def _learn_segments(self, topic: _Series, ticket: _Ticket) -> None:
        if self.active.get((topic.key, "volume")) is not None:
            return
        decay = 1.0 - 1.0 / 500.0
        topic.segment_total = topic.segment_total * decay + 1.0
        for dim in CONCENTRATION_DIMS:
            v = ticket.segments.get(dim)
            if not v:
                continue
            counts = topic.segment_counts.setdefault(dim, {})
            for key in list(counts):
                counts[key] *= decay
                if counts[key] < 0.01:
                    del counts[key]
            counts[v] = counts.get(v, 0.0) + 1.0
            if len(counts) > 50:
                del counts[min(counts, key=counts.__getitem__)]

    def _test_concentration(self, topic: _Series, now: float, describe: Describe) -> None:
        width = 7200.0
        tickets = [t for t in topic.in_window(now, width) if not t.claimed]
        if len(tickets) < self.settings.min_requesters:
            return
        mu, phi = self.forecast(topic, now - width, now)
        latest = tickets[-1]
        for dim in CONCENTRATION_DIMS:
            value = latest.segments.get(dim)
            if not value:
                continue
            inside = [t for t in tickets if t.segments.get(dim) == value]
            n = len({t.who for t in inside})
            if n < self.settings.min_requesters:
                continue
            share = self._share(topic, dim, value)
            rest = len({t.who for t in tickets if t.segments.get(dim) != value})
            if rest > band(mu * (1.0 - share), phi)[1]:
                continue  # the rest rose too: a plain spike's business, not a concentration
            self._count_test("concentration", topic.key, width, now)
            # Both: the segment's volume is out of its band, and its part of the window is unusual
            # (binomial, given the window's customers): a handful of tickets cannot prove a concentration.
            composition = float(special.bdtrc(n - 1, n + rest, share))
            p = min(1.0, max(upper_tail(n, mu * share, phi), composition) * len(CONCENTRATION_DIMS))
            plan = value if dim == "plan" else _dominant(inside, "plan")
            if p <= self.alpha("concentration", topic.key, plan):
                lo, hi = band(mu * share, phi)
                segs = [self._named({"name": dim, "value": value, "count": len(inside),
                                     "share": round(len(inside) / len(tickets), 3), "baseline_share": round(share, 3)})]
                self._alert(Alert("concentration", topic.key, p, "up", width, n, mu * share, lo, hi, inside, segs),
                            now, describe)
                return

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

    # -- sentiment ---------------------------------------------------------------------------------
    def _sentiment_keys(self, obs: Observation) -> list[str]:
        keys = [f"topic:{obs.topic_id}"]
        for dim in SENTIMENT_DIMS:
            if obs.segments.get(dim):
                keys.append(f"{dim}:{obs.segments[dim]}")
        return keys

    def _learn_sentiment(self, obs: Observation) -> None:
        for key in self._sentiment_keys(obs):
            if self.active.get((key, "sentiment")) is not None:
                continue
            st = self.sentiment.setdefault(key, [0.0, 0.0, 0.0])
            n, mean, m2 = st
            x = obs.sentiment
            if n >= 10:
                sd = math.sqrt(max(m2, 1e-4))
                x = min(max(x, mean - 3 * sd), mean + 3 * sd)
            n += 1
            rate = max(1.0 / n, 1.0 / 300.0)
            delta = x - mean
            mean += rate * delta
            m2 = (1 - rate) * (m2 + rate * delta * delta)
            self.sentiment[key] = [n, mean, m2]
        if len(self.sentiment) > 20000:  # bound: forget the least-seen segments
            for key in sorted(self.sentiment, key=lambda k: self.sentiment[k][0])[:2000]:
                del self.sentiment[key]

    def _test_sentiment(self, obs: Observation, ticket: _Ticket, describe: Describe) -> None:
        now = ticket.ts
        for key in self._sentiment_keys(obs):
            st = self.sentiment.get(key)
            if st is None or st[0] < SENTIMENT_WARMUP:
                continue
            pool = self._segment_pool(key, now)
            if len(pool) < SENTIMENT_MIN or len({t.who for t in pool}) < self.settings.min_requesters:
                continue
            _, mean, m2 = st
            k = len(pool)
            sd = math.sqrt(max(m2, 1e-4))
            m = sum(t.sentiment for t in pool) / k
            if m > mean - SENTIMENT_EFFECT:
                continue  # significant or not, too small a change of tone to act on
            z = (m - mean) / (sd / math.sqrt(k))
            self._count_test("sentiment", key, SENTIMENT_WINDOW, now)
            p = float(special.stdtr(k - 1, z)) * len(SENTIMENT_DIMS + ("topic",))
            plan = key.split(":", 1)[1] if key.startswith("plan:") else _dominant(pool, "plan")
            if p <= self.alpha("sentiment", key, plan):
                # Evidence in the tone's own units: the window's mean against the usual mean and the 99%
                # band of a mean of k tickets (the ticket count is the evidence's window_tickets).
                # Its tickets are those below the usual tone, the angriest first (they are its
                # representatives), as later tickets attach only when below it.
                half = 2.576 * sd / math.sqrt(k)
                since = self._tone_onset(pool, mean, sd)
                worse = sorted((t for t in pool if t.sentiment < mean and t.ts >= since), key=lambda t: t.sentiment)
                self._alert(Alert("sentiment", key, min(p, 1.0), "down", SENTIMENT_WINDOW, round(m, 3), mean,
                                  round(mean - half, 3), round(mean + half, 3), worse, [], window_tickets=k),
                            now, describe)

    @staticmethod
    def _tone_onset(pool: list[_Ticket], mean: float, sd: float) -> float:
        """When the change of tone began: the start of the run of the window's latest tickets (at least
        three) whose mean is least likely under the usual tone, its spread learnt from the segment's
        whole history (so a normal tail; the latest such start on a tie). A ticket hours earlier that
        happened to be cross is not the change's first. Nor are cross tickets before a silence of at
        least ``TONE_SILENCE`` and longer than everything after it (at least three tickets; an ordinary
        pause inside a burst is neither): in a segment that rarely writes, a few
        unrelated cross tickets in the morning and an outage's burst in the afternoon are one run by
        tone alone, but the burst began after the silence."""
        chrono = sorted(pool, key=lambda t: t.ts)
        best, best_p, total = 0, 2.0, 0.0
        for j in range(len(chrono) - 1, -1, -1):
            total += chrono[j].sentiment
            n = len(chrono) - j
            if n < 3:
                continue
            p = float(special.ndtr((total / n - mean) / (sd / math.sqrt(n))))
            if p < best_p:
                best, best_p = j, p
        last = chrono[-1].ts
        for g in range(len(chrono) - 3, best, -1):  # the latest such silence
            gap = chrono[g].ts - chrono[g - 1].ts
            if gap >= TONE_SILENCE and gap > last - chrono[g].ts:
                return chrono[g].ts
        return chrono[best].ts

    def _segment_pool(self, key: str, now: float) -> list[_Ticket]:
        """A sentiment segment's tickets in the trailing window: a topic's, or a plan's or
        organisation's across every topic."""
        if key.startswith("topic:"):
            series = self.series.get(key)
            return series.in_window(now, SENTIMENT_WINDOW) if series else []
        pool = self.__dict__.get("pools", {}).get(key, ())
        return [t for t in pool if now - SENTIMENT_WINDOW < t.ts <= now]

    # -- incidents ---------------------------------------------------------------------------------
    def _alert(self, alert: Alert, now: float, describe: Describe) -> None:
        family = FAMILY[alert.kind]
        key = (alert.series, family)
        inc_id = self.active.get(key)
        at = _dt(now)
        if inc_id is not None:
            inc = self.incidents[inc_id]
            if alert.p < inc.p_value:
                inc.p_value = alert.p
                self._fill_evidence(inc, alert, describe)
            for t in alert.tickets:
                fresh = self._fresh(inc, t)
                self._attach(inc, t, at)
                self._through_merge(inc, key, t, fresh)
            inc.calm_since = None
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc.id)
            return
        if self.suppressed.get(key, -1.0) > now:
            return
        if self._reopen(key, alert, now, describe):
            return
        first = self._onset(alert, now)
        topic_id = int(alert.series.split(":", 1)[1]) if alert.series.startswith("topic:") else None
        inc = IncidentState(id=self.next_id, kind=alert.kind, series=alert.series, topic_id=topic_id,
                            first_seen_at=_dt(first), detected_at=at, status_changed_at=at,
                            last_activity_at=at, p_value=alert.p, direction=alert.direction)
        self.next_id += 1
        self.incidents[inc.id] = inc
        self.active[key] = inc.id
        for t in alert.tickets:
            self._attach(inc, t, at)
        self._fill_evidence(inc, alert, describe)
        inc.notified_requesters = len(inc.requesters)
        self._queue_notification(inc, "opened")
        self._changed.add(inc.id)

    def _reopen(self, key: tuple[str, str], alert: Alert, now: float, describe: Describe) -> bool:
        """A rise on a key whose incident the detector resolved less than REOPEN_AFTER ago is that
        incident coming back: it reopens (and says so) instead of opening another."""
        held = self.__dict__.get("held", {}).pop(key, None)  # a person resolved it before it calmed down
        if held is not None and now - held[1] <= REOPEN_AFTER:
            inc = self.incidents[held[0]]
            if inc.status == "resolved" and _ts(inc.status_changed_at) == held[1]:
                # The writer takes this reopening only over the very resolve it names (a person's later
                # decision, not yet read here, stands).
                inc.evidence = {**inc.evidence, "reopened": {
                    "at": _dt(now).isoformat(), "resolved_at": _dt(held[1]).isoformat(),
                    "resolved_by": inc.status_by, "reason": STILL_UNUSUAL}}
                return self._reopened(inc, key, alert, now, describe)
        last = self.__dict__.setdefault("auto_resolved", {}).pop(key, None)  # absent from older checkpoints
        if last is None or now - last[1] > REOPEN_AFTER:
            return False
        inc = self.incidents[last[0]]
        if inc.status != "resolved" or inc.status_by != "detector":
            return False
        inc.evidence = {**inc.evidence, "reopened": {
            "at": _dt(now).isoformat(), "resolved_at": _dt(last[1]).isoformat(), "resolved_by": "detector",
            "reason": RISING_AGAIN}}
        return self._reopened(inc, key, alert, now, describe)

    def _reopened(self, inc: IncidentState, key: tuple[str, str], alert: Alert, now: float,
                  describe: Describe) -> bool:
        at = _dt(now)
        inc.status, inc.status_by, inc.status_changed_at, inc.resolved_at = "open", "detector", at, None
        inc.calm_since, inc.last_activity_at = None, at
        self.active[key] = inc.id
        if alert.p < inc.p_value:
            inc.p_value = alert.p
            self._fill_evidence(inc, alert, describe)
        for t in alert.tickets:
            self._attach(inc, t, at)
        inc.notified_requesters = len(inc.requesters)
        self._queue_notification(inc, "reopened")
        self._changed.add(inc.id)
        return True

    def _onset(self, alert: Alert, now: float) -> float:
        """When the rise began: of the window's tickets, the one from which on the count is least likely
        under the baseline (for a drop, the start of its window)."""
        tickets = sorted(alert.tickets, key=lambda t: t.ts)
        series = self.series.get(alert.series)
        if not tickets or series is None or alert.direction != "up" or not alert.series.startswith("topic:"):
            return min((t.ts for t in tickets), default=now - alert.window)
        best, best_p = tickets[0].ts, 2.0
        who: set[str] = set()
        for t in reversed(tickets):
            who.add(t.who)
            mu, phi = self.forecast(series, t.ts - 1.0, now)
            p = upper_tail(len(who), mu, phi)
            if p <= best_p:
                best, best_p = t.ts, p
        return best

    def _attach(self, inc: IncidentState, t: _Ticket, at: datetime) -> None:
        if t.ticket_id in inc.ticket_ids:
            return
        inc.ticket_ids.append(t.ticket_id)
        if inc.family == "volume":
            t.claimed, t.incident = True, inc.id
        inc.requesters.add(t.who)
        if t.account:
            inc.accounts.add(t.account)
        if len(inc.representatives) < MAX_REPRESENTATIVES and t.text:
            inc.representatives.append({"ticket_id": t.ticket_id, "text": t.text[:300]})
        if inc.family == "volume":  # its tickets' tone, against the topic's usual (``tone``)
            n_tone, sum_tone = inc.__dict__.get("tone", (0, 0.0))
            inc.__dict__["tone"] = (n_tone + 1, sum_tone + t.sentiment)
        for path, session_id in getattr(t, "pages", ()):  # widget friction before the ticket, per page
            sessions, users = inc.__dict__.setdefault("pages", {}).setdefault(path, (set(), set()))
            sessions.add(session_id)
            users.add(t.who)
        self._attached.append((inc.id, t.ticket_id, at))

    def _attach_to_active(self, topic: _Series, ticket: _Ticket, at: datetime) -> None:
        for family in ("volume", "sentiment"):
            inc_id = self.active.get((topic.key, family))
            if inc_id is None:
                continue
            inc = self.incidents[inc_id]
            if family == "sentiment" and ticket.sentiment >= inc.evidence.get("expected", 0.0):
                continue
            fresh = self._fresh(inc, ticket)
            self._attach(inc, ticket, at)
            self._through_merge(inc, (topic.key, family), ticket, fresh)
            inc.last_activity_at = at
            self._maybe_grew(inc)
            self._changed.add(inc_id)

    def _maybe_grew(self, inc: IncidentState) -> None:
        n = len(inc.requesters)
        if n >= 2 * inc.notified_requesters and n >= inc.notified_requesters + 5:
            inc.notified_requesters = n
            self._queue_notification(inc, "grew")

    def _queue_notification(self, inc: IncidentState, event: str) -> None:
        if not self.live:
            return
        self._notify.append((inc.id, event, inc.notifications))
        inc.notifications += 1

    def _calm(self, inc: IncidentState, now: float) -> bool:
        """Whether the incident's series is back within its band over the last hour."""
        series = self.series.get(inc.series)
        if inc.family == "sentiment":
            return self._sentiment_calm(inc, now)
        if series is None:
            return True
        mu, phi = self.forecast(series, now - HOUR, now)
        lo, hi = band(mu, phi)
        if inc.kind == "drop":
            return self._count_since(series, now - HOUR, now) >= lo
        return len({t.who for t in series.in_window(now, HOUR)}) <= max(hi, 1)

    def _check_resolve(self, inc: IncidentState, now: float) -> None:
        calm = self._calm(inc, now)
        if not calm:
            inc.calm_since = None
            return
        if inc.calm_since is None:
            inc.calm_since = now
        if now - inc.calm_since >= self.settings.resolve_after_minutes * 60.0:
            at = _dt(now)
            inc.status, inc.status_by, inc.status_changed_at, inc.resolved_at = "resolved", "detector", at, at
            inc.last_activity_at = at
            self._release(inc.id)
            resolved = self.__dict__.setdefault("auto_resolved", {})
            resolved[(inc.series, inc.family)] = (inc.id, now)
            for k in [k for k, (_i, ts) in resolved.items() if now - ts > REOPEN_AFTER]:
                del resolved[k]
            self._queue_notification(inc, "resolved")
            self._changed.add(inc.id)

    def _sentiment_calm(self, inc: IncidentState, now: float) -> bool:
        st = self.sentiment.get(inc.series)
        if st is None:
            return True
        pool = self._segment_pool(inc.series, now)
        if len(pool) < SENTIMENT_MIN:
            return True
        m = sum(t.sentiment for t in pool) / len(pool)
        return m >= st[1] - math.sqrt(max(st[2], 1e-4)) / math.sqrt(len(pool))

    def _release_before(self, ts: float) -> dict[str, Any] | None:
        best = None
        for rts, version, description in self.releases:
            if rts <= ts and ts - rts <= 86400.0:
                best = (rts, version, description)
        if best is None:
            return None
        rts, version, description = best
        return {"version": version, "deployed_at": _dt(rts).isoformat(), "description": description,
                "minutes_before": round((ts - rts) / 60.0)}

    def _fill_evidence(self, inc: IncidentState, alert: Alert, describe: Describe) -> None:
        info = dict(describe(inc.topic_id)) if inc.topic_id is not None else {}
        label = info.get("name") or info.get("label") or self.label(inc.series)
        release = self._release_before(_ts(inc.first_seen_at))
        # what people merged, and a reopening after a person's resolve, stay said
        kept = {k: inc.evidence[k] for k in (*MERGE_MARKS, "reopened") if k in inc.evidence}
        inc.evidence = {**kept,
            "observed": alert.observed,
            "expected": round(alert.expected, 3),
            "lower": alert.lower,
            "upper": alert.upper,
            "window_minutes": round(alert.window / 60.0),
            "p_value": alert.p,
            "surprise": round(surprise(alert.p), 2),
            "direction": alert.direction,
            "measure": "tickets" if alert.kind == "drop" else ("mean sentiment (VADER compound, -1 to 1)"
                                                                if alert.kind == "sentiment" else "customers"),
            "segments": alert.segments,
            "top_terms": list(info.get("keywords") or [])[:8],
            "topic_label": label if inc.topic_id is not None else None,
            "series_label": label if inc.topic_id is None and label != inc.series else None,
            "release": release,
            "window_tickets": len(alert.tickets) if alert.window_tickets is None else alert.window_tickets,
        }

    def _hour_so_far(self, inc: IncidentState) -> dict[str, Any] | None:
        """An active incident's series in its open hour: what came so far against the whole hour's
        expectation and band. Closed hours are written as volume points; this is the one a chart would
        otherwise miss while the incident is live. An incident that ended within the open hour keeps it
        (its rise would otherwise leave its chart until the hour closes); one that ended before, none."""
        series = self.series.get(inc.series)
        if series is None or self.watermark is None:
            return None
        ended = inc.resolved_at or inc.status_changed_at
        if not inc.active and (ended is None or not series.bucket <= _ts(ended) < series.bucket + HOUR):
            return None
        start = series.bucket
        mu, phi = self.forecast(series, start, start + HOUR)
        lo, hi = band(mu, phi)
        return {"start": _dt(start).isoformat(), "as_of": _dt(min(self.watermark, start + HOUR)).isoformat(),
                "tickets": series.tickets, "requesters": len(series.who), "expected": round(mu, 4),
                "lower": float(lo), "upper": float(hi)}

    def tone(self, inc: IncidentState) -> dict[str, float] | None:
        """A volume incident's tickets' mean sentiment when it is clearly below its topic's usual: at least
        ``TONE_MIN_TICKETS`` tickets, a topic that has learnt ``TONE_MIN_LEARNT``, and a mean at least
        ``TONE_Z`` standard errors below the topic's (the agent's "and they are angrier than usual")."""
        n, total = inc.__dict__.get("tone", (0, 0.0))
        st = self.sentiment.get(f"topic:{inc.topic_id}") if inc.topic_id is not None else None
        if n < TONE_MIN_TICKETS or st is None or st[0] < TONE_MIN_LEARNT:
            return None
        mean, usual, sd = total / n, st[1], math.sqrt(max(st[2], 1e-4))
        if (mean - usual) / (sd / math.sqrt(n)) > -TONE_Z:
            return None
        return {"mean": round(mean, 2), "usual": round(usual, 2), "tickets": n}

    def _count_pages(self, ts: float, paths: set[str], ticket_id: str | None = None) -> None:
        """Fold one ticket into the pages' usual shares: decayed counts of tickets, and per page of those
        whose requester met friction there before writing; and, from the first ticket with friction on,
        into the recent tickets (``RECENT_PAGES``)."""
        total = self.__dict__.setdefault("page_total", [0.0, ts])  # absent from older checkpoints
        seen: dict[str, list[float]] = self.__dict__.setdefault("page_seen", {})
        for row in [total, *(seen.setdefault(p, [0.0, ts]) for p in paths)]:
            row[0] = row[0] * 0.5 ** (max(0.0, ts - row[1]) / PAGE_HALFLIFE) + 1.0
            row[1] = max(row[1], ts)
        while len(seen) > MAX_TRACKED_PAGES:
            del seen[min((p for p in seen if p not in paths),
                         key=lambda p: seen[p][0] * 0.5 ** ((ts - seen[p][1]) / PAGE_HALFLIFE))]
        recent = self.__dict__.get("page_recent")
        if recent is None:
            if not paths:
                return  # a tenant without the widget keeps no recent tickets
            recent = self.__dict__["page_recent"] = deque(maxlen=MAX_RECENT_PAGES)
        recent.append((ts, ticket_id, frozenset(paths)))
        while recent and recent[0][0] <= ts - RECENT_PAGES:
            recent.popleft()

    def recent_page_shares(self, now: float, exclude: set[str]) -> tuple[dict[str, float], int]:
        """Each page's share of the tickets of the last ``RECENT_PAGES`` whose requester met friction on
        it first, ``exclude``'s tickets (an incident's own) left out, with the same weak prior as
        :meth:`page_share`; and how many tickets that share is of. Pages absent have the prior's share
        (``0.1 / (n + 1)``)."""
        counts: dict[str, int] = {}
        n = 0
        for ts, ticket_id, paths in self.__dict__.get("page_recent") or ():
            if now - RECENT_PAGES < ts <= now and ticket_id not in exclude:
                n += 1
                for path in paths:
                    counts[path] = counts.get(path, 0) + 1
        return {path: _page_share(k, n) for path, k in counts.items()}, n

    def page_share(self, path: str, now: float, own: tuple[int, int] = (0, 0)) -> float:
        """The page's usual share of tickets whose requester met friction on it first, with a weak prior
        (a tenth of a ticket in one) so that a page never seen, or a tenant with little history, is not
        taken as certain. ``own``: an incident's own tickets on the page and in all, taken out, so that an
        incident is judged against the page's share without it (its tickets are recent: undecayed)."""
        def decayed(row: list[float] | None) -> float:
            return row[0] * 0.5 ** (max(0.0, now - row[1]) / PAGE_HALFLIFE) if row else 0.0

        seen = max(0.0, decayed(self.__dict__.get("page_seen", {}).get(path)) - own[0])
        total = max(0.0, decayed(self.__dict__.get("page_total")) - own[1])
        return _page_share(seen, total)

    def _pages_evidence(self, inc: IncidentState) -> list[dict[str, Any]]:
        """The pages the incident's customers met friction on first (most customers first, at most 10),
        each with its usual share, the tail probability of that many customers at it, and whether the
        incident names it (``PAGE_ALPHA``)."""
        now = self.watermark if self.watermark is not None else _ts(inc.detected_at)
        rows = []
        pages = inc.__dict__.get("pages") or {}
        recent, others = self.recent_page_shares(now, set(inc.ticket_ids)) if pages else ({}, 0)
        for path, (sessions, users) in pages.items():
            k, n = len(users), max(len(inc.requesters), len(users))
            usual = self.page_share(path, now, own=(k, len(inc.ticket_ids)))
            now_share = recent.get(path, _page_share(0, others))
            share = max(usual, now_share)
            p = float(special.bdtrc(k - 1, n, share)) if k else 1.0
            rows.append({"path": path, "sessions": len(sessions), "users": k, "usual_share": round(usual, 4),
                         "recent_share": round(now_share, 4), "recent_tickets": others,
                         "p_value": p, "associated": k >= 2 and 3 * k >= n and p <= PAGE_ALPHA})
        rows.sort(key=lambda r: (not r["associated"], -r["users"], -r["sessions"], r["path"]))
        return rows[:10]

    def snapshot(self, inc: IncidentState) -> dict[str, Any]:
        """The incident as the writer stores it (and the notifier shows it)."""
        ev = dict(inc.evidence)
        ev["representatives"] = list(inc.representatives)
        ev["requesters"] = len(inc.requesters)
        ev["accounts"] = len(inc.accounts)
        hour = self._hour_so_far(inc)
        if hour is not None:
            ev["hour_so_far"] = hour
        if inc.__dict__.get("pages"):
            ev["pages"] = self._pages_evidence(inc)
        mood = self.tone(inc)
        if mood is not None:
            ev["sentiment"] = mood
        quoted = inc.topic_id is not None or bool(ev.get("topic_label"))
        return {
            "id": inc.id, "kind": inc.kind, "status": inc.status, "status_by": inc.status_by,
            "status_changed_at": inc.status_changed_at or inc.detected_at, "series": inc.series,
            "topic_id": inc.topic_id, "title": title(inc.kind, label_of(inc), quoted=quoted)[:300], "sentence": sentence(inc, mood, ev.get("pages")),
            "direction": inc.direction, "first_seen_at": inc.first_seen_at, "detected_at": inc.detected_at,
            "last_activity_at": inc.last_activity_at or inc.detected_at, "resolved_at": inc.resolved_at,
            "ticket_count": len(inc.ticket_ids), "requester_count": len(inc.requesters),
            "account_count": len(inc.accounts), "p_value": inc.p_value, "surprise": round(surprise(inc.p_value), 2),
            "evidence": ev, "useful_count": inc.useful, "noise_count": inc.noise,
        }

    # -- outputs -----------------------------------------------------------------------------------
    def take_changes(self) -> dict[str, list[Any]]:
        """What changed since the last call: incident snapshots, attachments, closed hours, notifications."""
        out = {
            "incidents": [self.snapshot(self.incidents[i]) for i in sorted(self._changed)],
            "attached": self._attached,
            "detached": self.__dict__.pop("_detached", []),
            "points": self._points,
            "notifications": [(i, event, gen, self.snapshot(self.incidents[i])) for i, event, gen in self._notify],
        }
        self._changed, self._attached, self._points, self._notify = set(), [], [], []
        return out


def _merged_history(a: deque, b: deque) -> deque:
    """Two topics' closed hours added hour by hour (counts, expectations and bands)."""
    hours: dict[float, tuple[int, int, float, int, int]] = {}
    for history in (a, b):
        for start, tickets, who, mu, lo, hi in history:
            t0, w0, m0, l0, h0 = hours.get(start, (0, 0, 0.0, 0, 0))
            hours[start] = (t0 + tickets, w0 + who, m0 + mu, l0 + lo, h0 + hi)
    return deque(((start, *row) for start, row in sorted(hours.items())), maxlen=KEEP_HOURS)


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


def _share_pmf(upto: int, n_all: int, share: float, rho: float) -> np.ndarray:
    """P(k of ``n_all`` tickets), k = 0..upto, when each is the series' with probability ``share``, the
    share itself varying hour to hour with intra-class correlation ``rho`` (beta-binomial). Summed
    directly: scipy.stats.betabinom.cdf gives the same to rounding (tests/incidents/test_engine.py
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


def _dominant(tickets: list[_Ticket], dim: str) -> str | None:
    values: dict[str, int] = {}
    for t in tickets:
        v = t.segments.get(dim)
        if v:
            values[v] = values.get(v, 0) + 1
    if not values:
        return None
    value, count = max(values.items(), key=lambda kv: (kv[1], kv[0]))
    return value if count * 2 > len(tickets) else None



def _page_share(seen: float, total: float) -> float:
    """A page's share of ``total`` tickets whose requester met friction on it first, ``seen`` of them, with
    a weak prior of a tenth of a ticket in one (a page never seen, or little history, is not certain)."""
    return min(1.0, (seen + 0.1) / (total + 1.0))
