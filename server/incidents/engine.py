"""The detection engine of one tenant: learnt baselines, tests with a false-alarm budget, incidents.

Pure: no Flask, no database, no clock. Time is event time, carried by the observations; everything
learnt is plain data that pickles into the detector's checkpoint, so a replay gives the same incidents.

What is watched
---------------
Every ticket placed in a topic is an :class:`Observation`. It counts in these series:

- ``topic:<id>`` (distinct requesters: one customer writing three times is one, not three);
- ``channel:<name>``, ``form:<id>`` and ``all`` (tickets; these carry the drop test).

Each series keeps an hourly baseline (:mod:`server.incidents.baseline`). Backfilled tickets warm the
baselines up: they close hours like live ones but never open incidents.

The engine's parts
------------------
:class:`Engine` is one object (one checkpoint) built from parts, each a module:

- :mod:`server.incidents.state`: the series, tickets, embedding bank and incidents it keeps;
- :mod:`server.incidents.baseline`: hours closed, forecasts, what they learn, topic merges;
- the tests, one family per module in :mod:`server.incidents.detectors`: volume (spike, new topic,
  neighbours, nearby tickets, halo), concentration, drop and sentiment;
- :mod:`server.incidents.lifecycle`: incidents from alerts, their evidence, resolving and reopening;
- :mod:`server.incidents.decisions`: people's marks, status changes and merges;
- :mod:`server.incidents.pages`: the pages customers met friction on before writing;
- here: the inputs (:meth:`Engine.observe`, :meth:`Engine.advance`), the clock of the periodic tests
  and the false-alarm budget shared by every test.

False alarms across all topics
------------------------------
Every kind gets ``alarm_budget_per_week * sensitivity[kind] / 5`` expected false alarms a week. Its
per-test threshold is that share divided by the number of tests the kind ran in the past week (counting
each series, window and hour once, since tests inside one hour are nearly the same test; a kind that has
tested for less than a week, as after a backfill, has its count scaled up to a week): a Bonferroni bound
on false alarms per week over every series, whatever the number of topics. A plan tier's multiplier
applies when the tier carries most of the window. Each ``noise`` mark on an incident divides that series
and kind's threshold by 10 (up to 1000); each ``useful`` mark takes one step back.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from datetime import datetime

import numpy as np

from server.incidents.baseline import Baselines
from server.incidents.decisions import Decisions
from server.incidents.detectors.concentration import ConcentrationTest
from server.incidents.detectors.drop import DropTest
from server.incidents.detectors.sentiment import SentimentTest
from server.incidents.detectors.volume import VolumeTests
from server.incidents.lifecycle import CALM_TO_CLOSE, REOPEN_AFTER, Lifecycle
from server.incidents.pages import PageClues
from server.incidents.settings import DetectionSettings
# Checkpoints written before the engine was split into parts name these classes here (pickles name
# classes by module): they stay importable from this module.
from server.incidents.state import (HOUR, KINDS, SENTIMENT_WINDOW, SPIKE_WINDOWS, TENANT_WARMUP, TICK, WEEK,  # noqa: F401
                                    Alert, Describe, IncidentState, Observation, _Bank, _push, _Series, _Ticket, _ts)

#: Segment values' display names kept (the latest seen first to go when full is the oldest named).
MAX_NAMES = 20000


class Engine(VolumeTests, ConcentrationTest, DropTest, SentimentTest, Baselines, Lifecycle, Decisions,
             PageClues):
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
