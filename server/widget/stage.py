"""The widget stage: widget events become session features, per-page friction alarms and classifier
inputs; tickets become the classifier's delayed labels and the join from friction to ticket incidents.

Pure: no Flask, no database, no wall clock. Event time is the logged ``event_time`` (the client's
time bounded by the receive time, see server/ingest/service.py). Everything learnt is in ``state()``,
so a restart from a checkpoint replays to the same state. The tenant's widget configuration comes from
``settings(tenant_id)`` when a tenant is first seen (the defaults without; the detector passes none), then
from ``control.widget_settings`` events, in log order, so a replay from the start reads each event with
the configuration in force when it came.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Container, Iterable, Mapping

from server.eventlog.log import LoggedEvent
from server.incidents.stats import band
from server.pipeline.stage import Stage
from server.understand.intake import parse
from server.understand.record import TicketUpdate
from server.widget.classifier import TicketClassifier
from server.widget.detectors import PageFrictionDetector
from server.widget.features import SIGNALS, SessionFeatures
from server.widget.friction import FrictionIncidents, chart_series
from server.widget.settings import WidgetConfig, page_path

#: Labels: a ticket within this long after a session started makes it positive.
HORIZON = 24 * 3600.0
#: A ticket incident's pages: friction its customers met in this long before writing. Someone failing on a
#: page writes soon after; over a whole day, most people who use the product meet some page's ordinary
#: failures, so a big customer's everyday friction would be named on an incident that has nothing to do
#: with the page (an SSO outage naming the upgrade page).
FRICTION_BEFORE = 2 * 3600.0
#: Extra wait before a negative label, for tickets that reach the log late.
GRACE = 3600.0
#: Most sessions kept in memory per tenant (the least recently active go first).
MAX_SESSIONS = 20_000
#: Friction events remembered per user for the ticket join.
MAX_USER_FRICTION = 50
#: Most pages added to one ticket.
MAX_TICKET_PAGES = 10
#: Most sessions of the requester shown with one ticket (the latest).
MAX_TICKET_SESSIONS = 5
#: Most users remembered per tenant for the ticket join (the oldest first out).
MAX_USERS = 100_000

Verify = Callable[[int, str, Any], bool]


@dataclass
class Tracked:
    """A live session: its features, who it is, and its outcome once known."""

    features: SessionFeatures
    start: float
    keys: tuple[str, ...] = ()
    outcome: str | None = None
    ticket_at: float | None = None
    p: float | None = None
    #: The log offset of the newest event folded in (decisions wait for later ones).
    last_offset: int = 0


@dataclass
class TenantWidget:
    """Everything the stage learns for one tenant."""

    config: WidgetConfig
    classifier: TicketClassifier = field(default_factory=TicketClassifier)
    detector: PageFrictionDetector = field(default_factory=PageFrictionDetector)
    incidents: FrictionIncidents = field(default_factory=FrictionIncidents)
    sessions: OrderedDict[str, Tracked] = field(default_factory=OrderedDict)
    deadlines: list[tuple[float, str]] = field(default_factory=list)
    user_sessions: dict[str, list[str]] = field(default_factory=dict)
    user_friction: dict[str, deque[tuple[int, float, str, str]]] = field(default_factory=dict)
    watermark: float = 0.0
    dirty: set[str] = field(default_factory=set)
    #: Closed hours of incidents' charts to write: (page, signal, start, count, sessions, mean, variance).
    points: list[tuple[str, str, float, int, int, float, float]] = field(default_factory=list)
    #: New tickets' sessions to write: (ticket id, ticket time, session ids).
    links: list[tuple[str, float, list[str]]] = field(default_factory=list)

    def chart_points(self) -> list[tuple[str, str, float, int, int, float, float]]:
        return self.__dict__.setdefault("points", [])  # checkpoints from before charts had none

    def ticket_links(self) -> list[tuple[str, float, list[str]]]:
        return self.__dict__.setdefault("links", [])  # checkpoints from before tickets kept their sessions

    def configure(self, config: WidgetConfig) -> None:
        self.config = config
        f = config.friction
        self.detector.configure(f.weekly_false_alarms, f.min_sessions, f.warmup_hours)

    @property
    def ready(self) -> bool:
        cs = self.config.cold_start
        return self.classifier.ready(cs.min_outcomes, cs.min_positives)


def user_keys(user_id: str, keys: Iterable[str]) -> tuple[str, ...]:
    """Join keys of a widget user id, one per configured ticket key.

    Examples
    --------
    >>> user_keys("Ann@Example.com", ["email", "field:user_id"])[1]
    'field:user_id:Ann@Example.com'
    >>> user_keys("u-17", ["email", "requester_id"])
    ('requester_id:u-17',)
    """
    out = []
    for k in keys:
        if k == "email":
            if "@" in user_id:
                out.append("email:" + hashlib.sha256(user_id.strip().lower().encode()).hexdigest())
        else:
            out.append(f"{k}:{user_id}")
    return tuple(out)


def ticket_keys(update: TicketUpdate, keys: Iterable[str]) -> tuple[str, ...]:
    """Join keys of a ticket's requester, matching ``user_keys``."""
    out = []
    for k in keys:
        if k == "email" and update.requester_email_sha256:
            out.append("email:" + update.requester_email_sha256)
        elif k == "requester_id" and update.requester_id:
            out.append(f"requester_id:{update.requester_id}")
        elif k.startswith("field:"):
            value = (update.custom_fields or {}).get(k[6:])
            if value not in (None, ""):
                out.append(f"{k}:{value}")
    return tuple(out)


def _point(count: int, sessions: int, mu: float, var: float) -> dict[str, Any]:
    """A chart's hour: the friction events and sessions against the baseline's mean and 99% band."""
    lo, hi = band(mu, max(0.0, (var - mu) / (mu * mu)) if mu > 0 else 0.0)
    return {"tickets": count, "requesters": sessions, "expected": round(mu, 4), "lower": float(lo), "upper": float(hi)}


def _hour_so_far(tw: TenantWidget, snap: dict[str, Any]) -> dict[str, Any] | None:
    """The open hour of an incident's charted series (as the ticket engine's ``hour_so_far``): while it is
    active, or when it ended within that hour (its rise stays on its chart until the hour closes)."""
    evidence = snap["evidence"]
    s = tw.detector.series.get((evidence["path"], evidence["signal"]))
    if s is None:
        return None
    ended = snap["resolved_at"] or snap["status_changed_at"]
    if snap["status"] not in ("open", "acknowledged") and not s.bucket <= ended.timestamp() < s.bucket + 3600.0:
        return None
    mu, var = s.expected_for(s.visitors) if s.exposed(tw.detector.warmup_hours) else s.expected()
    start = datetime.fromtimestamp(s.bucket, tz=timezone.utc)
    as_of = datetime.fromtimestamp(min(max(tw.watermark, s.bucket), s.bucket + 3600.0), tz=timezone.utc)
    return {"start": start.isoformat(), "as_of": as_of.isoformat(), **_point(s.count, len(s.per_session), mu, var)}


def _bound(table: dict[str, Any]) -> None:
    """Drop the oldest keys beyond ``MAX_USERS`` (dicts keep insertion order)."""
    while len(table) > MAX_USERS:
        del table[next(iter(table))]


class WidgetStage(Stage):
    """Session features, per-page friction detectors and the ticket classifier of every tenant.

    Parameters
    ----------
    settings
        Per tenant: the stored widget configuration, read when a tenant is first seen.
    verify
        ``verify(tenant_id, user_id, user_hash)``: identity verification, used when the tenant requires it.
    field_maps
        Per tenant: the Zendesk custom field map (so a ``field:<name>`` join key finds its field).
    new_incident_id
        Hands out incident ids from the tenant's incident counter (the ticket detector's).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> stage = WidgetStage()
    >>> t = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    >>> ev = {"id": "e1", "type": "rage_click", "ts": 0, "url": "https://a.io/pay", "session_id": "s1"}
    >>> stage.apply(LoggedEvent(1, 7, "widget", "widget.rage_click", "s1:e1", t, t, ev))
    >>> [(kind, key, row["features"]["totals"]) for kind, key, row in stage.outputs()]
    [('widget_session', (7, 's1'), {'rage_click': 1})]
    """

    name = "widget"
    sources = frozenset({"widget", "zendesk", "control"})

    def __init__(self, settings: Callable[[int], Mapping[str, Any] | None] | None = None,
                 verify: Verify | None = None, field_maps: Callable[[int], dict[str, str] | None] | None = None,
                 new_incident_id: Callable[[int], int] | None = None) -> None:
        self.settings_for = settings or (lambda _t: None)
        self.verify = verify or (lambda _t, _u, _h: False)
        self.field_maps = field_maps or (lambda _t: None)
        self.new_incident_id = new_incident_id
        self.tenants: dict[int, TenantWidget] = {}
        self._next_ids: dict[int, int] = {}

    def tenant(self, tenant_id: int) -> TenantWidget:
        if tenant_id not in self.tenants:
            tw = TenantWidget(config=WidgetConfig.from_dict(self.settings_for(tenant_id)))
            tw.configure(tw.config)
            self.tenants[tenant_id] = tw
        return self.tenants[tenant_id]

    def retain(self, tenant_ids: Container[int]) -> None:
        self.tenants = {t: tw for t, tw in self.tenants.items() if t in tenant_ids}
        self._next_ids = {t: n for t, n in self._next_ids.items() if t in tenant_ids}

    def _new_id(self, tenant_id: int) -> int:
        if self.new_incident_id is not None:
            return self.new_incident_id(tenant_id)
        self._next_ids[tenant_id] = self._next_ids.get(tenant_id, 1_000_000) + 1
        return self._next_ids[tenant_id]

    # -- events -----------------------------------------------------------------------------------
    def apply(self, event: LoggedEvent) -> None:
        if event.source == "widget":
            self._widget(event)
        elif event.source == "zendesk":
            self._ticket(event)
        elif event.source == "control":
            self._control(event)

    def _advance(self, tw: TenantWidget, now: float) -> None:
        """Event time moved to ``now``: close friction hours, label sessions whose horizon passed."""
        if now <= tw.watermark:
            return
        tw.watermark = now
        for path, signal, hour, alarmed, visitors in tw.detector.closed_hours(now):
            tw.incidents.hour_closed(path, signal, hour[0], alarmed, (hour[1], hour[3], visitors))
            if tw.incidents.charted(path, signal, hour[0]):
                tw.chart_points().append((path, signal, *hour))
        while tw.deadlines and tw.deadlines[0][0] <= now:
            _, sid = heapq.heappop(tw.deadlines)
            tracked = tw.sessions.get(sid)
            if tracked is not None and tracked.outcome is None:
                tracked.outcome = "none"
                tw.classifier.learn(tracked.features.vector(), False)
                tw.dirty.add(sid)

    def _widget(self, event: LoggedEvent) -> None:
        tw = self.tenant(event.tenant_id)
        now = event.event_time.timestamp()
        self._advance(tw, now)
        payload = event.payload or {}
        sid = str(payload.get("session_id") or "")[:64]
        if not sid:
            return
        tracked = tw.sessions.get(sid)
        if tracked is None:
            tracked = tw.sessions[sid] = Tracked(SessionFeatures(sid, started_ms=int(now * 1000)), start=now)
            while len(tw.sessions) > MAX_SESSIONS:
                tw.sessions.popitem(last=False)
        else:
            tw.sessions.move_to_end(sid)
        tracked.last_offset = max(tracked.last_offset, event.offset)
        self._identify(event.tenant_id, tw, tracked, payload)
        if payload.get("account_id") and not tracked.features.account_id:
            tracked.features.account_id = str(payload["account_id"])[:128]
        tw.detector.seen(now)
        signal = tracked.features.add(payload, int(now * 1000))
        path = page_path(str(payload.get("url") or ""))
        tw.detector.visit(path, sid, now)
        if signal in SIGNALS:
            user = tracked.features.user_id
            alarm = tw.detector.observe(path, signal, sid, user, now)
            if alarm is not None and tw.incidents.alarm(alarm, now, lambda: self._new_id(event.tenant_id)):
                # A new incident's chart starts with the hours before it, as its baseline judged them.
                tw.chart_points().extend((path, signal, *h) for h in tw.detector.series[(path, signal)].recent)
            for key in tracked.keys:
                tw.user_friction.setdefault(key, deque(maxlen=MAX_USER_FRICTION)).append(
                    (event.offset, now, path, sid))
                _bound(tw.user_friction)
        tracked.p = tw.classifier.predict(tracked.features.vector())
        tw.dirty.add(sid)

    def _identify(self, tenant_id: int, tw: TenantWidget, tracked: Tracked, payload: Mapping[str, Any]) -> None:
        user_id = payload.get("user_id")
        if not isinstance(user_id, str) or not user_id or tracked.features.user_id == user_id[:128]:
            return
        user_id = user_id[:128]
        data = payload.get("data") if isinstance(payload.get("data"), Mapping) else {}
        verified = self.verify(tenant_id, user_id, data.get("user_hash"))
        if tw.config.identity_required and not verified:
            return
        if tracked.features.user_id is not None and not verified:
            return  # an unverified claim never replaces a known user
        tracked.features.user_id, tracked.features.verified = user_id, verified
        tracked.keys = user_keys(user_id, tw.config.ticket_user_keys)
        for key in tracked.keys:
            sids = tw.user_sessions.setdefault(key, [])
            if tracked.features.session_id not in sids:
                sids.append(tracked.features.session_id)
                del sids[:-20]
            _bound(tw.user_sessions)
        if tracked.outcome is None:
            heapq.heappush(tw.deadlines, (tracked.start + HORIZON + GRACE, tracked.features.session_id))

    def _ticket(self, event: LoggedEvent) -> None:
        update = parse(event.kind, event.payload, field_map=self.field_maps(event.tenant_id))
        if update is None or not update.created:
            return
        tw = self.tenant(event.tenant_id)
        at = (update.created_at or event.event_time).timestamp()
        linked: list[str] = []  # the requester's sessions that started in the day before the ticket
        for key in ticket_keys(update, tw.config.ticket_user_keys):
            for sid in tw.user_sessions.get(key, ()):
                tracked = tw.sessions.get(sid)
                if tracked is None or not tracked.start <= at <= tracked.start + HORIZON:
                    continue
                if sid not in linked:
                    linked.append(sid)
                if tracked.outcome is None:
                    tracked.outcome, tracked.ticket_at = "ticket", at
                    tw.classifier.learn(tracked.features.vector(), True)
                    tw.dirty.add(sid)
        if linked:
            linked.sort(key=lambda sid: tw.sessions[sid].start)
            tw.ticket_links().append((update.ticket_id, at, linked[-MAX_TICKET_SESSIONS:]))

    def _control(self, event: LoggedEvent) -> None:
        data = event.payload or {}
        if event.kind == "control.widget_settings" and isinstance(data.get("widget"), dict):
            self.tenant(event.tenant_id).configure(WidgetConfig.from_dict(data["widget"]))
        elif event.kind == "control.status" and event.tenant_id in self.tenants:
            try:
                self.tenants[event.tenant_id].incidents.set_status(
                    int(data["incident_id"]), str(data["status"]), str(data.get("by", "")),
                    event.event_time.timestamp())
            except (KeyError, TypeError, ValueError):
                return

    # -- the ticket detector's hook -----------------------------------------------------------------
    def pages_before(self, tenant_id: int, update: TicketUpdate, offset: int,
                     at: datetime) -> tuple[tuple[str, str], ...]:
        """(page, session) pairs where the ticket's requester met friction in the ``FRICTION_BEFORE`` before
        it, logged before the ticket (so the answer does not depend on how the log was batched)."""
        tw = self.tenants.get(tenant_id)
        if tw is None:
            return ()
        t = at.timestamp()
        seen: list[tuple[str, str]] = []
        for key in ticket_keys(update, tw.config.ticket_user_keys):
            for off, ts, path, sid in tw.user_friction.get(key, ()):
                if off < offset and t - FRICTION_BEFORE <= ts <= t and (path, sid) not in seen:
                    seen.append((path, sid))
        return tuple(seen[-MAX_TICKET_PAGES:])

    # -- outputs and checkpoints --------------------------------------------------------------------
    def outputs(self) -> Iterable[tuple[str, Any, dict[str, Any]]]:
        for tenant_id, tw in sorted(self.tenants.items()):
            ready = tw.ready
            points, tw.points = tw.chart_points(), []
            for path, signal, start, count, sessions, mu, var in points:
                yield "volume_point", (tenant_id, chart_series(path, signal), start), _point(count, sessions, mu, var)
            links, tw.links = tw.ticket_links(), []
            for ticket_id, at, sids in links:
                yield "ticket_sessions", (tenant_id, ticket_id), {
                    "session_ids": sids, "ticket_at": datetime.fromtimestamp(at, tz=timezone.utc)}
            for snap in tw.incidents.take_changes():
                hour = _hour_so_far(tw, snap)
                if hour is not None:
                    snap["evidence"]["hour_so_far"] = hour
                yield "incident", (tenant_id, snap["id"]), snap
            for incident_id, event, seq, snap in tw.incidents.take_notifications():
                yield "notification", (tenant_id, incident_id, seq), {"event": event, "payload": snap}
            dirty, tw.dirty = sorted(tw.dirty), set()
            for sid in dirty:
                tracked = tw.sessions.get(sid)
                if tracked is None:
                    continue
                f = tracked.features
                yield "widget_session", (tenant_id, sid), {
                    "user_id": f.user_id, "account_id": f.account_id,
                    "started_at": datetime.fromtimestamp(tracked.start, tz=timezone.utc),
                    "last_seen_at": datetime.fromtimestamp(f.last_ms / 1000, tz=timezone.utc),
                    "last_path": f.last_path, "features": f.to_json(),
                    "p_ticket": None if tracked.p is None else round(tracked.p, 4),
                    "stuck_pages": f.stuck_on(tw.config.cold_start.repeat_failures),
                    "model_ready": ready, "outcome": tracked.outcome,
                    "ticket_at": None if tracked.ticket_at is None
                    else datetime.fromtimestamp(tracked.ticket_at, tz=timezone.utc),
                    "last_offset": tracked.last_offset or None,
                }

    def state(self) -> dict[str, Any]:
        return {"tenants": self.tenants, "next_ids": self._next_ids}

    def load_state(self, state: dict[str, Any]) -> None:
        self.tenants = state["tenants"]
        self._next_ids = state.get("next_ids", {})
