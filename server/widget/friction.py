"""Behavioural incidents opened by the per-page friction detectors: one per page while active.

An alarm opens an incident for its page, or joins the page's active one: failed requests and the rage
clicks they provoke on one page are one problem, so a page's signals share one incident, each with its
own counts (``signals``). Messages (Slack) go out when it opens, when its sessions have doubled (and
grown by at least five) since the last message, and when it resolves. Once every signal of the
incident has had two calm closed hours in a row, it resolves. People's status changes arrive as
``control.status`` events and are mirrored; a dismissal suppresses the page's signals for a day.

A resolved incident comes back, instead of another one opening, when one of its signals alarms again on
its page: within ``REOPEN_AFTER`` of the detector resolving it (the ticket engine's rule), or, after a
person resolved it, while that signal is still failing (before it has had two calm closed hours since,
and within ``REOPEN_AFTER``). It reopens saying so (``evidence.reopened``, its sentence) and queues one
``reopened`` message. Once a person's resolve has been followed by calm, the page is free: a later rise is
a new incident, as the ticket engine frees a series a person resolved.

Snapshots have the shape the incident writer stores (server/incidents/writers.py), with
``kind = "friction"`` and evidence naming the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from server.incidents.lifecycle import REOPEN_AFTER
from server.incidents.stats import surprise
from server.widget.detectors import HOUR, Alarm
from server.widget.features import SIGNAL_NOUNS, and_list

#: Most sessions and users remembered per incident (counts stay exact up to this).
MAX_MEMBERS = 5000
CALM_HOURS_TO_RESOLVE = 2
SUPPRESS_AFTER_DISMISS = 86400.0
#: A "grew" message needs twice the sessions of the last message and at least this many more.
GREW_AT_LEAST = 5
#: How long after an incident ends its chart's series keeps being written (as ticket incidents' charts).
CHART_AFTER = 86400.0


#: Why an incident reopened, by who had resolved it.
STILL_FAILING = "still failing after it was resolved"
FAILING_AGAIN = "failing again after it had calmed"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def usual_count(expected: float) -> str:
    """An hour's usual count in a sentence: one decimal from 1 up (the incidents page's evidence rows show
    two there), and below 1 as those rows show it, the evidence's figure (stored to 3 decimals) to 2
    decimals, halves up, without trailing zeros: the sentence's "usually 0.04" is the Signals row's
    "usually 0.04", and a usual count above nothing never reads "0.0" or "0" ("under 0.01" below 0.005,
    on the page too).

    >>> [usual_count(x) for x in (4.91, 3.0, 0.4, 0.04, 0.0449, 0.125, 0.996, 0.003, 0.0)]
    ['4.9', '3.0', '0.4', '0.04', '0.05', '0.13', '1', 'under 0.01', '0']
    """
    if expected >= 1:
        return f"{expected:.1f}"
    hundredths = math.floor(round(expected, 3) * 100 + 0.5)
    if hundredths <= 0:
        return "under 0.01" if expected > 0 else "0"
    return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".")


def chart_series(path: str, signal: str) -> str:
    """The incident's ``series``: the page and the signal that opened it, whose hours its chart shows."""
    return f"page:{path}:{signal}"[:120]


@dataclass
class SignalCounts:
    """One signal of a friction incident: its worst hour so far and its calm hours since."""

    observed: int
    expected: float
    p: float
    calm_hours: int = 0
    #: The page's visitors in that hour when it was judged per visitor (0: against the hourly mean).
    visitors: int = 0
    #: Start of that hour (None: a checkpoint from before it was kept).
    hour: float | None = None
    #: That hour is still open: ``observed``, ``expected`` and ``visitors`` are its counts so far, and
    #: ``expected`` is what its visitors so far usually bring, not a whole hour's. Once it closes they are
    #: the whole hour's (``FrictionIncidents.hour_closed``).
    so_far: bool = False

    def take(self, a: Alarm) -> None:
        """The counts of an alarm of the open hour."""
        self.observed, self.expected, self.visitors, self.hour, self.so_far = (
            a.observed, a.expected, a.visitors, a.hour_start, True)


@dataclass
class Ended:
    """A signal of a resolved incident whose next alarm may still be that incident (see the module's
    docstring): which incident, when it was resolved, whether a person resolved it, and the signal's calm
    closed hours in a row since (counted after a person's resolve only)."""

    incident: int
    at: float
    by_person: bool
    calm_hours: int = 0


@dataclass
class FrictionIncident:
    """What the detector knows of one friction incident: a page and the signals that alarmed on it.

    ``signal`` is the signal that opened it; ``observed``, ``expected`` and ``p`` are its first alarm's,
    which seed ``signals`` (every alarming signal with its worst hour, in the order they alarmed), and
    are not kept up to date: read ``signals``.
    """

    id: int
    path: str
    signal: str
    first_seen: float
    detected: float
    last_activity: float
    observed: int
    expected: float
    p: float
    status: str = "open"
    status_by: str = "detector"
    status_changed: float | None = None
    resolved: float | None = None
    calm_hours: int = 0
    notifications: int = 0
    sessions: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    signals: dict[str, SignalCounts] = field(default_factory=dict)
    #: Start of the hour whose counts opened it (``first_seen`` is when that hour went above normal).
    window_start: float | None = None
    #: Sessions when a message last told of its size (opened or grew).
    notified_sessions: int = 0
    #: Its latest return after a resolve: (when, when it had been resolved, who resolved it, why).
    reopened: tuple[float, float, str, str] | None = None

    def __post_init__(self) -> None:
        if not self.signals:
            self.signals = {self.signal: SignalCounts(self.observed, self.expected, self.p)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A checkpoint from before incidents held several signals: its one signal becomes the set.
        self.__dict__.update(state)
        if not self.__dict__.get("signals"):
            self.signals = {self.signal: SignalCounts(self.observed, self.expected, self.p, self.calm_hours)}
        if "notified_sessions" not in state:  # nor counted sessions for "grew": its size so far was told
            self.notified_sessions = len(self.sessions)

    @property
    def active(self) -> bool:
        return self.status in ("open", "acknowledged")

    @property
    def min_p(self) -> float:
        return min(c.p for c in self.signals.values())

    def title(self) -> str:
        nouns = [SIGNAL_NOUNS.get(sig, sig) for sig in self.signals]
        return f"{and_list(nouns).capitalize()} on {self.path}"

    def sentence(self) -> str:
        """While the hour of the counts is open, a figure judged per visitor is what the visitors so far
        usually bring, which grows with them: the sentence says so ("among 69 visitors so far … (10.4
        expected from that many)"), and says "usually" once the hour has closed and the figure is the
        whole hour's."""
        counts = list(self.signals.values())
        judged = {(c.visitors, c.so_far) for c in counts}
        # every signal judged against the same visitors (and all of an open hour, or all of closed ones)
        shared, so_far = judged.pop() if len(judged) == 1 else (0, False)

        def usual(c: SignalCounts, first: bool) -> str:
            if c.visitors and c.so_far and not shared:
                return f"{usual_count(c.expected)} expected from the {c.visitors} visitors so far"
            if c.visitors and not shared:
                return f"usually {usual_count(c.expected)} from {c.visitors} visitors"
            return f"usually {usual_count(c.expected)}{' an hour' if first and not c.visitors else ''}"

        if shared and so_far:
            parts = [f"{c.observed} {SIGNAL_NOUNS.get(sig, sig)}" for sig, c in self.signals.items()]
            expected = f" ({and_list([usual_count(c.expected) for c in counts])} expected from that many)"
        else:
            parts = [f"{c.observed} {SIGNAL_NOUNS.get(sig, sig)} ({usual(c, i == 0)})"
                     for i, (sig, c) in enumerate(self.signals.items())]
            expected = ""
        among = f" among {shared} visitors{' so far' if so_far else ''}" if shared else ""
        start = self.counts_hour()
        since = (f", above normal since {_dt(self.first_seen):%H:%M} UTC"
                 if start < self.first_seen < start + HOUR else "")
        users = f" ({len(self.users)} signed-in)" if self.users else ""
        back = ""
        if self.reopened is not None:
            at, resolved, _by, why = self.reopened
            back = f" Reopened at {_dt(at):%H:%M} UTC: {why} at {_dt(resolved):%H:%M} UTC."
        return (f"{and_list(parts)}{among} on {self.path} in the hour from {_dt(start):%H:%M} UTC{expected}{since}, "
                f"from {len(self.sessions)} sessions{users}.{back}")

    def counts_hour(self) -> float:
        """The start of the hour the incident's counts are of: the hour that opened it, or a later one whose
        counts replaced them (every signal's, the same hour)."""
        start = self.window_start or self.first_seen
        hours = {c.hour for c in self.signals.values()}
        if len(hours) == 1 and None not in hours:
            start = max(start, hours.pop())
        return start

    def snapshot(self) -> dict[str, Any]:
        p, first = self.min_p, self.signals[self.signal]
        return {
            "id": self.id, "kind": "friction", "status": self.status, "status_by": self.status_by,
            "status_changed_at": _dt(self.status_changed or self.detected),
            "series": chart_series(self.path, self.signal),
            "topic_id": None, "title": self.title()[:300], "sentence": self.sentence(),
            "direction": "up", "first_seen_at": _dt(self.first_seen), "detected_at": _dt(self.detected),
            "last_activity_at": _dt(self.last_activity), "resolved_at": _dt(self.resolved) if self.resolved else None,
            "ticket_count": 0, "requester_count": len(self.users), "account_count": 0, "p_value": p,
            "surprise": round(surprise(p), 2),
            "evidence": {"path": self.path, "signal": self.signal, "observed": first.observed,
                         "expected": round(first.expected, 3), "sessions": len(self.sessions), "users": len(self.users),
                         "signals": [{"signal": sig, "observed": c.observed, "expected": round(c.expected, 3),
                                      "p": c.p, "visitors": c.visitors, "so_far": c.so_far}
                                     for sig, c in self.signals.items()],
                         "first_seen_at": _dt(self.first_seen).isoformat(),
                         "window_start_at": _dt(self.window_start or self.first_seen).isoformat(),
                         # the hour the counts above are of (a later hour's, once they replaced the first ones)
                         "counts_hour_at": _dt(self.counts_hour()).isoformat(),
                         "window_minutes": 60, **self._reopened_evidence()},
            "useful_count": 0, "noise_count": 0,
        }

    def _reopened_evidence(self) -> dict[str, Any]:
        if self.reopened is None:
            return {}
        at, resolved, by, why = self.reopened
        return {"reopened": {"at": _dt(at).isoformat(), "resolved_at": _dt(resolved).isoformat(),
                             "resolved_by": by, "reason": why}}


class FrictionIncidents:
    """The friction incidents of one tenant; ``new_id`` hands out ids from the tenant's incident counter."""

    def __init__(self) -> None:
        self.incidents: dict[int, FrictionIncident] = {}
        self.active: dict[tuple[str, str], int] = {}
        self.suppressed: dict[tuple[str, str], float] = {}
        self.changed: set[int] = set()
        self.notify: list[tuple[int, str, int]] = []
        #: (page, signal) of each incident's chart -> until when its closed hours are written (inf: active).
        self.charts: dict[tuple[str, str], float] = {}
        #: (page, signal) of resolved incidents -> the incident its next alarm reopens (see ``Ended``).
        self.ended: dict[tuple[str, str], Ended] = {}

    def _filling(self) -> dict[tuple[str, str], int]:
        """(page, signal) -> the incident whose counts of that signal are of its open hour."""
        return self.__dict__.setdefault("filling", {})  # checkpoints from before counts were told so far

    def _ended(self) -> dict[tuple[str, str], Ended]:
        return self.__dict__.setdefault("ended", {})  # checkpoints from before resolved incidents reopened

    def _forget_end(self, incident_id: int) -> dict[tuple[str, str], Ended]:
        """Drop the incident's signals from ``ended``; returns ``ended``."""
        ended = self._ended()
        for key in [k for k, e in ended.items() if e.incident == incident_id]:
            del ended[key]
        return ended

    def _charts(self) -> dict[tuple[str, str], float]:
        return self.__dict__.setdefault("charts", {})  # checkpoints from before charts had none

    def charted(self, path: str, signal: str, start: float) -> bool:
        """Whether the closed hour starting at ``start`` of this series belongs on an incident's chart."""
        charts = self._charts()
        until = charts.get((path, signal))
        if until is None:
            return False
        if start >= until:
            del charts[(path, signal)]
            return False
        return True

    def _chart_until(self, inc: FrictionIncident, until: float) -> None:
        self._charts()[(inc.path, inc.signal)] = until

    def _queue(self, inc: FrictionIncident, event: str) -> None:
        """An outbox message (Slack), numbered by the incident's notification count as the ticket engine does."""
        self.notify.append((inc.id, event, inc.notifications))
        inc.notifications += 1

    def _page_incident(self, path: str) -> int | None:
        """The active incident of a page, whichever signal it was opened by."""
        return next((i for (p, _), i in self.active.items() if p == path), None)

    def alarm(self, a: Alarm, now: float, new_id: Callable[[], int]) -> bool:
        """Open the page's incident, grow it, or bring back the resolved one it still is (``_reopen``); True
        when this alarm opened a new incident."""
        key = (a.path, a.signal)
        if self.suppressed.get(key, -1.0) > now:
            return False
        inc_id = self.active.get(key)
        if inc_id is None:
            inc_id = self._page_incident(a.path)
        reopened = inc_id is None and self._reopen(key, now)
        if reopened:
            inc_id = self.active[key]
        if inc_id is None:
            inc = FrictionIncident(id=new_id(), path=a.path, signal=a.signal,
                                   # events arrive in log order, their times are the browsers': the
                                   # alarm's event may be earlier than the one that began the rise
                                   first_seen=min(a.rising_since or a.hour_start, now), window_start=a.hour_start,
                                   detected=now, last_activity=now, observed=a.observed, expected=a.expected, p=a.p)
            inc.signals[a.signal].take(a)
            self._filling()[key] = inc.id
            self.incidents[inc.id] = inc
            self.active[key] = inc.id
            self._chart_until(inc, math.inf)
            self._queue(inc, "opened")
            opened = True
        else:
            opened = False
            inc = self.incidents[inc_id]
            self.active[key] = inc.id
            c = inc.signals.get(a.signal)
            if c is None:
                c = inc.signals[a.signal] = SignalCounts(a.observed, a.expected, a.p)
                c.take(a)
                self._filling()[key] = inc.id
            else:
                if a.observed > c.observed:
                    c.take(a)
                    self._filling()[key] = inc.id
                c.p, c.calm_hours = min(c.p, a.p), 0
            inc.last_activity, inc.calm_hours = now, 0
        for s in a.sessions:
            if len(inc.sessions) < MAX_MEMBERS:
                inc.sessions.add(s)
        for u in a.users:
            if len(inc.users) < MAX_MEMBERS:
                inc.users.add(u)
        n = len(inc.sessions)
        if opened or reopened:  # the message told its size
            inc.notified_sessions = n
        elif n >= 2 * inc.notified_sessions and n >= inc.notified_sessions + GREW_AT_LEAST:
            # Grown materially, by the ticket incidents' rule (twice the customers, at least 5 more).
            inc.notified_sessions = n
            self._queue(inc, "grew")
        self.changed.add(inc.id)
        return opened

    def _keys(self, inc: FrictionIncident) -> list[tuple[str, str]]:
        return [(inc.path, sig) for sig in inc.signals]

    def _remember_end(self, inc: FrictionIncident, at: float, by_person: bool) -> None:
        """The incident was resolved at ``at``: its signals' next alarms may bring it back. After a person's
        resolve only the signals still failing can (a signal already calm for two hours had ended)."""
        ended = self._forget_end(inc.id)
        for sig, c in inc.signals.items():
            if by_person and c.calm_hours >= CALM_HOURS_TO_RESOLVE:
                continue
            ended[(inc.path, sig)] = Ended(inc.id, at, by_person, c.calm_hours if by_person else 0)

    def _reopen(self, key: tuple[str, str], now: float) -> bool:
        """An alarm of a resolved incident's signal that is still that incident (see the module's docstring):
        it reopens, saying why, and the thread and alerts that heard it was resolved hear it is back."""
        ended = self._ended()
        end = ended.pop(key, None)
        if end is None or now - end.at > REOPEN_AFTER:
            return False
        inc = self.incidents.get(end.incident)
        if inc is None or inc.status != "resolved" or inc.resolved != end.at:
            return False  # a person changed it since (reopened, dismissed): their decision stands
        self._forget_end(inc.id)
        at = max(now, end.at)  # browsers' clocks may put the alarm before the resolve it follows in the log
        inc.reopened = (at, end.at, inc.status_by, STILL_FAILING if end.by_person else FAILING_AGAIN)
        inc.status, inc.status_by, inc.status_changed, inc.resolved = "open", "detector", at, None
        inc.calm_hours = 0
        for c in inc.signals.values():
            c.calm_hours = 0
        for k in self._keys(inc):
            self.active.setdefault(k, inc.id)
        self._chart_until(inc, math.inf)
        if inc.notifications:
            self._queue(inc, "reopened")
        return True

    def _ended_hour(self, key: tuple[str, str], start: float, alarmed: bool) -> None:
        """A closed hour of a resolved incident's signal: after a person's resolve, two calm hours in a row
        end the link (the problem had ended after all); every link ends ``REOPEN_AFTER`` after the resolve."""
        ended = self._ended()
        end = ended.get(key)
        if end is None:
            return
        if end.by_person:
            end.calm_hours = 0 if alarmed else end.calm_hours + 1
        if (end.by_person and end.calm_hours >= CALM_HOURS_TO_RESOLVE) or start + HOUR - end.at > REOPEN_AFTER:
            del ended[key]

    def _hour_filled(self, key: tuple[str, str], start: float, whole: tuple[int, float, int] | None) -> None:
        """The hour of an incident's counts so far has closed: they become the whole hour's (``whole``: its
        count, expected count and visitors, as the detector judged it), and its sentence says so."""
        filling = self._filling()
        inc = self.incidents.get(filling.get(key, -1))
        c = inc.signals.get(key[1]) if inc is not None else None
        if c is None or not c.so_far or c.hour is None or c.hour > start:
            return
        del filling[key]
        c.so_far = False
        if whole is not None and c.hour == start and whole[0] >= c.observed:
            c.observed, c.expected, c.visitors = whole
        self.changed.add(inc.id)

    def hour_closed(self, path: str, signal: str, start: float, alarmed: bool,
                    whole: tuple[int, float, int] | None = None) -> None:
        """A closed hour of a page's signal; ``whole``: its count, expected count and visitors (0: judged
        against the hourly mean), as ``PageFrictionDetector.closed_hours`` gives them."""
        self._hour_filled((path, signal), start, whole)
        self._ended_hour((path, signal), start, alarmed)
        inc_id = self.active.get((path, signal))
        if inc_id is None:
            return
        inc = self.incidents[inc_id]
        c = inc.signals.get(signal)
        if c is None or start + HOUR <= inc.detected:
            return
        c.calm_hours = 0 if alarmed else c.calm_hours + 1
        inc.calm_hours = min(x.calm_hours for x in inc.signals.values())
        if inc.calm_hours >= CALM_HOURS_TO_RESOLVE:
            end = start + HOUR
            inc.status, inc.status_by, inc.status_changed, inc.resolved = "resolved", "detector", end, end
            inc.last_activity = end
            for key in self._keys(inc):
                if self.active.get(key) == inc.id:
                    del self.active[key]
            self._chart_until(inc, end + CHART_AFTER)
            self._remember_end(inc, end, by_person=False)
            self._queue(inc, "resolved")
            self.changed.add(inc.id)

    def set_status(self, incident_id: int, status: str, by: str, at: float) -> None:
        """Mirror a person's change made through the API."""
        inc = self.incidents.get(incident_id)
        if inc is None or inc.status == status:
            return
        was_active, before = inc.active, inc.status
        inc.status, inc.status_by, inc.status_changed = status, by[:200], at
        self._forget_end(inc.id)  # a person decided since it was resolved
        if inc.active:
            if status == "acknowledged" and was_active and inc.notifications:
                self._queue(inc, "acknowledged")  # as the ticket engine: the thread and the alert say who is on it
            elif (not was_active or before == "acknowledged") and inc.notifications:
                # a person reopened what was announced as ended, or took an acknowledgement back
                self._queue(inc, "reopened")
            inc.resolved, inc.calm_hours = None, 0
            for c in inc.signals.values():
                c.calm_hours = 0
            for key in self._keys(inc):
                if key not in self.active:
                    self.active[key] = inc.id
            if not was_active:
                self._chart_until(inc, math.inf)
        else:
            inc.resolved = at if status == "resolved" else inc.resolved
            if was_active:
                self._chart_until(inc, at + CHART_AFTER)
                if inc.notifications:  # close what was announced: the Slack thread, the PagerDuty alert
                    self._queue(inc, "resolved")
            for key in self._keys(inc):
                if self.active.get(key) == inc.id:
                    del self.active[key]
                if status == "dismissed":
                    self.suppressed[key] = at + SUPPRESS_AFTER_DISMISS
            if status == "resolved" and was_active:  # if it is still failing, it comes back (``_reopen``)
                self._remember_end(inc, at, by_person=True)
        self.changed.add(inc.id)

    def take_changes(self) -> list[dict[str, Any]]:
        changed, self.changed = sorted(self.changed), set()
        return [self.incidents[i].snapshot() for i in changed]

    def take_notifications(self) -> list[tuple[int, str, int, dict[str, Any]]]:
        notify, self.notify = self.notify, []
        return [(i, event, seq, self.incidents[i].snapshot()) for i, event, seq in notify]
