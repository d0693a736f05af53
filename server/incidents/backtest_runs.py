"""Backtests asked for through the API (``POST /api/v1/backtests``) and the worker that runs them.

An admin who installed the app from the Marketplace has no shell on the server, so the
``groundswell backtest`` command is not theirs to run. Here a backtest is a row in ``backtest_runs``:
the API queues it (one at a time per tenant), and the detector process's backtest worker claims it,
replays the tenant's whole log once (:func:`server.incidents.backtest.backtest_variants`: the tickets
are embedded once) through two sets of detectors, the stored settings and the proposed ones (the
stored settings with the request's changes, merged as PATCH merges them, and its in-app friction
settings, if any, on top of the widget configuration), each used throughout the period in place of
the settings the log says were in force, and stores the comparison as the row's
``result``, with its progress written as it goes: the events replayed, and the seconds it has left, told from
what tickets and in-app events have each cost so far (:class:`TimeLeft`) and kept in ``result`` until the
comparison takes its place (the API gives ``result`` only once the run is done).

The comparison pairs incidents of the two runs, and each with the incidents the tenant really has,
by kind, series and overlapping time, so that the answer says which incidents the proposed settings
add or lose and how people rated the real ones (useful or noise).

The worker runs in a thread beside the detector's main loop and shares its CPU: while a backtest
runs, live detection of the same process falls behind by up to a few seconds per batch, and catches
up when it ends. A worker that dies leaves its row leased; once the lease runs out another pass queues
it again, at most ``MAX_ATTEMPTS`` times in all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.db import Database
from server.eventlog.log import as_utc
from server.eventlog.log import EventLog
from server.eventlog.models import Event
from server.incidents.backtest import BacktestReport, backtest_variants, cost_group, split_overrides
from server.incidents.models import BacktestRun, Incident
from server.incidents.report import week_start
from server.incidents.schemas import MAX_ID
from server.incidents.settings import DetectionSettings, apply_changes
from server.tenants import Tenant
from server.workers import start_periodic

log = logging.getLogger(__name__)

#: Longest look-back a backtest reports on, in days, and the default.
MAX_DAYS = 90
DEFAULT_DAYS = 30
#: Finished runs kept per tenant (the oldest are deleted when a new one is queued).
KEEP = 20
#: Seconds a claim holds without a progress write; the worker renews it at least every PROGRESS_SECONDS.
LEASE_SECONDS = 120.0
PROGRESS_SECONDS = 1.0
#: Claims of one run before it is given up as failed (a run that kills its worker each time).
MAX_ATTEMPTS = 3
#: Incidents listed in a result (the counts cover all of them).
MAX_LISTED = 300
#: Slack around a real incident's span when pairing it with a replayed one.
PAIR_SLACK = timedelta(hours=2)

ACTIVE = ("queued", "running")


class BacktestBusy(Exception):
    """The tenant already has a backtest queued or running."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"backtest {run_id} is still queued or running; wait for it or cancel it")
        self.run_id = run_id


class _Cancelled(Exception):
    pass


def create_run(session: Session, log_: EventLog, tenant_id: int, *, days: int, overrides: Mapping[str, Any],
               by: str | None, now: datetime) -> BacktestRun:
    """Queue a backtest of the last ``days`` days with ``overrides`` (validated detection settings)."""
    session.scalar(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())  # one request at a time
    busy = session.scalar(select(BacktestRun.id).where(BacktestRun.tenant_id == tenant_id,
                                                       BacktestRun.status.in_(ACTIVE)))
    if busy is not None:
        raise BacktestBusy(busy)
    run = BacktestRun(tenant_id=tenant_id, status="queued", since=now - timedelta(days=days),
                      overrides=dict(overrides), requested_by=by, created_at=now, attempts=0,
                      events_total=log_.count(session, tenant_id), events_done=0)
    session.add(run)
    session.flush()
    old = session.scalars(select(BacktestRun).where(BacktestRun.tenant_id == tenant_id,
                                                    BacktestRun.status.not_in(ACTIVE))
                          .order_by(BacktestRun.id.desc()).offset(KEEP - 1)).all()
    for row in old:
        session.delete(row)
    session.commit()
    return run


def get_run(session: Session, tenant_id: int, run_id: int) -> BacktestRun | None:
    if not 0 < run_id <= MAX_ID:  # beyond the column's range: no such row (PostgreSQL would refuse the query)
        return None
    run = session.get(BacktestRun, run_id)
    return run if run is not None and run.tenant_id == tenant_id else None


def list_runs(session: Session, tenant_id: int, limit: int = KEEP) -> list[BacktestRun]:
    return list(session.scalars(select(BacktestRun).where(BacktestRun.tenant_id == tenant_id)
                                .order_by(BacktestRun.id.desc()).limit(limit)))


def cancel_run(session: Session, tenant_id: int, run_id: int, *, now: datetime) -> BacktestRun | None:
    """Cancel a queued or running backtest (a running one stops at its next progress write)."""
    run = get_run(session, tenant_id, run_id)
    if run is None:
        return None
    if run.status in ACTIVE:
        session.execute(update(BacktestRun).where(BacktestRun.id == run_id, BacktestRun.status.in_(ACTIVE))
                        .values(status="cancelled", finished_at=now, lease_until=None, result=None))
        session.commit()
        session.refresh(run)
    return run


def run_view(run: BacktestRun) -> dict[str, Any]:
    """The run as the API shows it."""
    done = run.status == "done"
    left = None if done or run.status != "running" else (run.result or {}).get("seconds_left")
    return {"id": run.id, "status": run.status, "since": as_utc(run.since), "settings": run.overrides,
            "requested_by": run.requested_by, "created_at": as_utc(run.created_at),
            "started_at": as_utc(run.started_at) if run.started_at else None,
            "finished_at": as_utc(run.finished_at) if run.finished_at else None,
            "progress": {"events_done": run.events_done, "events_total": max(run.events_total, run.events_done),
                         "seconds_left": left if isinstance(left, (int, float)) else None},
            "result": run.result if done else None, "error": run.error}


class TimeLeft:
    """How long a running backtest has left: the events of each `cost_group` still to replay, times what one
    of them has cost lately (over the last ``window`` seconds of the run, else since it began).

    A ticket costs tens of times an in-app event, and a tenant's log holds them in runs (a backfill's tickets,
    then a day of widget events, ...): a rate of events a second would swing from one run to the next.
    Priced by kind, the guess holds steady. The stages' own seconds leave out reading the log and writing the
    progress: the guess is scaled by the run's time over theirs. None until something has been replayed of
    each kind still to come (its cost is not known yet).
    """

    def __init__(self, totals: Mapping[str, int], *, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.totals, self.window, self.clock = dict(totals), window, clock
        self.started = clock()
        self.done: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.recent: deque[tuple[float, str, int, float]] = deque()  # (when, group, events, seconds)

    def add(self, spent: Mapping[str, tuple[int, float]]) -> None:
        """A batch replayed: events and seconds by group (``backtest_variants``' ``spent``)."""
        now = self.clock()
        for group, (n, seconds) in spent.items():
            if n:
                self.done[group] += n
                self.seconds[group] += seconds
                self.recent.append((now, group, n, seconds))
        while self.recent and now - self.recent[0][0] > self.window:
            self.recent.popleft()

    def _cost(self, group: str) -> float | None:
        n = sum(r[2] for r in self.recent if r[1] == group)
        if n:
            return sum(r[3] for r in self.recent if r[1] == group) / n
        return self.seconds[group] / self.done[group] if self.done[group] else None

    def seconds_left(self) -> float | None:
        worked = sum(self.seconds.values())
        if worked <= 0:
            return None
        left = 0.0
        for group, total in self.totals.items():
            remaining = max(0, total - self.done[group])
            if remaining:
                cost = self._cost(group)
                if cost is None:
                    return None
                left += remaining * cost
        return left * max(1.0, (self.clock() - self.started) / worked)


# -- comparing ---------------------------------------------------------------------------------------

def _span(inc: Mapping[str, Any]) -> tuple[datetime, datetime]:
    start = as_utc(inc["first_seen_at"])
    end = inc.get("resolved_at") or inc.get("last_activity_at") or inc["detected_at"]
    return start, max(as_utc(end), as_utc(inc["detected_at"]))


def _pair(a: Mapping[str, Any], others: list[Mapping[str, Any]], used: set[int]) -> int | None:
    """Index in ``others`` of the first unpaired incident of ``a``'s kind and series whose span meets ``a``'s."""
    a0, a1 = _span(a)
    for i, b in enumerate(others):
        if i in used or b["kind"] != a["kind"] or b["series"] != a["series"]:
            continue
        b0, b1 = _span(b)
        if a0 <= b1 + PAIR_SLACK and b0 <= a1 + PAIR_SLACK:
            used.add(i)
            return i
    return None


def _listed(inc: Mapping[str, Any], where: str, actual: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"kind": inc["kind"], "series": inc["series"], "title": inc["title"], "sentence": inc["sentence"],
            "first_seen_at": as_utc(inc["first_seen_at"]).isoformat(),
            "detected_at": as_utc(inc["detected_at"]).isoformat(),
            "ticket_count": inc["ticket_count"], "requester_count": inc["requester_count"],
            "p_value": inc["p_value"], "in": where, "actual": dict(actual) if actual else None}


def _totals(incidents: list[Mapping[str, Any]], weeks: float) -> dict[str, Any]:
    """The run's count, by kind, and a week (none under a week of data: a day's rate times seven misleads)."""
    return {"count": len(incidents), "by_kind": dict(sorted(Counter(i["kind"] for i in incidents).items())),
            "per_week": round(len(incidents) / weeks, 2) if weeks >= 1 else None}


def compare(current: BacktestReport, proposed: BacktestReport, actual: list[dict[str, Any]],
            now: datetime) -> dict[str, Any]:
    """The stored result: each run's totals, incidents per week, and every incident of either run (in
    both, only under the stored settings, only under the proposed ones) with the real incident it
    matches and that incident's ratings.

    ``data_since`` is where the data begins within the period (``since`` unless the first ticket or
    in-app event is later; None when there is none); ``weeks``, what the rates a week are counted over,
    runs from there to ``until``, and the weekly chart starts with its week."""
    since = as_utc(current.since)
    # Rates are over the part of the period that has data: a tenant whose first ticket is two weeks old,
    # asked about 30 days, has its incidents counted over those two weeks, not over four.
    data_since = as_utc(current.data_since) if current.data_since is not None else None
    weeks = current.weeks_until(now)
    used: set[int] = set()
    paired: dict[int, int] = {}  # proposed index -> current index
    for i, inc in enumerate(proposed.incidents):
        j = _pair(inc, current.incidents, used)
        if j is not None:
            paired[i] = j
    rows: list[tuple[Mapping[str, Any], str]] = [(inc, "both" if i in paired else "proposed_only")
                                                 for i, inc in enumerate(proposed.incidents)]
    rows += [(inc, "current_only") for j, inc in enumerate(current.incidents) if j not in used]
    taken: set[int] = set()
    listed = []
    for inc, where in rows:
        k = _pair(inc, actual, taken)
        listed.append(_listed(inc, where, actual[k]["rating"] if k is not None else None))
    listed.sort(key=lambda r: (r["detected_at"], r["in"]), reverse=True)
    # Whole weeks from Monday 00:00 UTC, as the incidents report counts them (the first and the last
    # one may be partial): an incident's bar is under the week it was detected in, wherever the
    # backtest started. They begin with the week the data begins in: no empty weeks before the first ticket.
    weekly: dict[datetime, dict[str, Any]] = {}
    start = week_start(min([data_since or since] + [as_utc(i["detected_at"])
                                                     for r in (current, proposed) for i in r.incidents]))
    while start < now or not weekly:
        weekly[start] = {"week_start": start.isoformat(), "current": 0, "proposed": 0}
        start += timedelta(days=7)
    for name, report in (("current", current), ("proposed", proposed)):
        for inc in report.incidents:
            week = weekly.get(week_start(inc["detected_at"]))
            if week is not None:
                week[name] += 1
    rated = Counter()
    for row in listed:
        actual_row = row["actual"]
        if actual_row and actual_row["verdict"]:
            kept = row["in"] != "current_only"
            rated[f"{actual_row['verdict']}_{'kept' if kept else 'dropped'}"] += 1
    return {
        "since": since.isoformat(), "until": now.isoformat(),
        "data_since": data_since.isoformat() if data_since is not None else None, "weeks": round(weeks, 2),
        "events": current.events, "tickets": current.tickets,
        "current": _totals(current.incidents, weeks), "proposed": _totals(proposed.incidents, weeks),
        "added": sum(r["in"] == "proposed_only" for r in listed),
        "removed": sum(r["in"] == "current_only" for r in listed),
        "ratings": {k: rated.get(k, 0) for k in ("useful_kept", "useful_dropped", "noise_kept", "noise_dropped")},
        "weekly": list(weekly.values()), "incidents": listed[:MAX_LISTED], "incidents_total": len(listed),
    }


def actual_incidents(session: Session, tenant_id: int, since: datetime) -> list[dict[str, Any]]:
    """The tenant's stored incidents that a replayed one could match, with a rating: the verdict people
    gave most (``useful``, ``noise``, or None when unrated or tied)."""
    rows = session.scalars(select(Incident).where(Incident.tenant_id == tenant_id,
                                                  Incident.detected_at >= since - PAIR_SLACK)
                           .order_by(Incident.detected_at)).all()
    out = []
    for r in rows:
        verdict = ("useful" if r.useful_count > r.noise_count else
                   "noise" if r.noise_count > r.useful_count else None)
        out.append({"kind": r.kind, "series": r.series, "first_seen_at": r.first_seen_at, "detected_at": r.detected_at,
                    "resolved_at": r.resolved_at, "last_activity_at": r.last_activity_at,
                    "rating": {"id": r.id, "status": r.status, "useful": r.useful_count, "noise": r.noise_count,
                               "verdict": verdict}})
    return out


# -- the worker --------------------------------------------------------------------------------------

class BacktestWorker:
    """Claims queued backtests of its partition's tenants and runs them, one at a time.

    ``embed`` embeds texts (an ``Embedder``'s ``embed``); ``widget`` answers a tenant's widget
    configuration and identity check (``server.widget.runtime.WidgetTenantData``), so that in-app
    friction is replayed as live.
    """

    def __init__(self, db: Database, log_: EventLog, embed: Callable[..., Any], *, widget: Any = None,
                 partition: tuple[int, int] = (0, 1), clock: Callable[[], datetime] | None = None,
                 lease_seconds: float = LEASE_SECONDS, progress_seconds: float = PROGRESS_SECONDS) -> None:
        from server.metrics import utcnow

        self.db = db
        self.log = log_
        self.embed = embed
        self.widget = widget
        self.partition = partition
        self.clock = clock or utcnow
        self.lease = timedelta(seconds=lease_seconds)
        self.progress_seconds = progress_seconds

    def _mine(self, tenant_id: int) -> bool:
        index, count = self.partition
        return tenant_id % count == index

    def _requeue_stale(self, session: Session, now: datetime) -> None:
        stale = session.scalars(select(BacktestRun).where(BacktestRun.status == "running",
                                                          BacktestRun.lease_until < now)).all()
        for run in stale:
            if not self._mine(run.tenant_id):
                continue
            gave_up = run.attempts >= MAX_ATTEMPTS
            session.execute(update(BacktestRun).where(BacktestRun.id == run.id, BacktestRun.status == "running",
                                                      BacktestRun.lease_until < now)
                            .values(status="failed" if gave_up else "queued", lease_until=None, result=None,
                                    finished_at=now if gave_up else None,
                                    error=f"stopped {run.attempts} times without finishing" if gave_up else None)
                            .execution_options(synchronize_session=False))
        session.commit()

    def _claim(self) -> BacktestRun | None:
        now = self.clock()
        with self.db.session() as session:
            self._requeue_stale(session, now)
            queued = session.scalars(select(BacktestRun).where(BacktestRun.status == "queued")
                                     .order_by(BacktestRun.id)).all()
            for run in queued:
                if not self._mine(run.tenant_id):
                    continue
                claimed = session.execute(
                    update(BacktestRun).where(BacktestRun.id == run.id, BacktestRun.status == "queued")
                    .values(status="running", started_at=now, lease_until=now + self.lease, result=None,
                            attempts=BacktestRun.attempts + 1, events_done=0,
                            events_total=self.log.count(session, run.tenant_id)))
                session.commit()
                if claimed.rowcount == 1:
                    session.refresh(run)
                    session.expunge(run)
                    return run
        return None

    def _write(self, run: BacktestRun, **values: Any) -> bool:
        """Update the row this worker claimed; False when it is no longer running, or another claim (after
        this worker's lease ran out) took it over."""
        with self.db.session() as session:
            done = session.execute(update(BacktestRun).where(BacktestRun.id == run.id, BacktestRun.status == "running",
                                                             BacktestRun.attempts == run.attempts).values(**values))
            session.commit()
            return done.rowcount == 1

    def run_once(self) -> int | None:
        """Run one queued backtest, if there is one; return its id."""
        run = self._claim()
        if run is None:
            return None
        started = time.monotonic()
        try:
            result = self._run(run)
        except _Cancelled:
            log.info("backtest %s cancelled", run.id)
            return run.id
        except Exception as e:  # a bug or a bad row must not stop the worker; the row says what happened
            log.exception("backtest %s failed", run.id)
            self._write(run, status="failed", finished_at=self.clock(), lease_until=None, result=None,
                        error=f"{type(e).__name__}: {str(e)[:300]}")
            return run.id
        self._write(run, status="done", finished_at=self.clock(), lease_until=None, result=result,
                    events_done=result["events"])
        log.info("backtest %s done in %.1f s", run.id, time.monotonic() - started)
        return run.id

    def _run(self, run: BacktestRun) -> dict[str, Any]:
        with self.db.session() as session:
            tenant = session.get(Tenant, run.tenant_id)
            if tenant is None:
                raise _Cancelled()
            stored = (tenant.settings or {}).get("detection")
            totals: Counter[str] = Counter()
            for source, n in session.execute(select(Event.source, func.count()).where(Event.tenant_id == run.tenant_id)
                                             .group_by(Event.source)):
                totals[cost_group(source)] += n
        done = 0
        last = time.monotonic()
        time_left = TimeLeft(totals)

        def progress(n: int) -> None:
            nonlocal done, last
            done += n
            if time.monotonic() - last < self.progress_seconds:
                return
            last = time.monotonic()
            left = time_left.seconds_left()
            if not self._write(run, events_done=done, lease_until=self.clock() + self.lease,
                               result={"seconds_left": None if left is None else round(left, 1)}):
                raise _Cancelled()

        widget_config = self.widget.config(run.tenant_id) if self.widget is not None else None
        verify = self.widget.verify if self.widget is not None else None
        stored = stored if isinstance(stored, dict) else None
        now_stored = DetectionSettings.from_dict(stored).to_dict()
        # The proposed friction settings go on top of the widget configuration (split_overrides), the detection
        # ones on top of the stored detection settings.
        detection, friction = split_overrides(run.overrides)
        proposed_settings: dict[str, Any] = DetectionSettings.from_dict(apply_changes(stored, detection)).to_dict()
        if friction:
            proposed_settings["friction"] = friction
        current, proposed = backtest_variants(self.db, self.log, run.tenant_id, as_utc(run.since), embed=self.embed,
                                              settings=stored, variants=[now_stored, proposed_settings],
                                              widget=widget_config, verify=verify, progress=progress, fixed=True,
                                              spent=time_left.add)
        now = self.clock()
        with self.db.session() as session:
            actual = actual_incidents(session, run.tenant_id, as_utc(run.since))
        return compare(current, proposed, actual, now)


def start_worker(worker: BacktestWorker, *, interval: float = 2.0,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Run ``worker.run_once`` every ``interval`` seconds in a daemon thread, apart from the detector loop."""
    return start_periodic("backtests", worker.run_once, interval=interval, stop=stop)
