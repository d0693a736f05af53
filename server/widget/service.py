"""The widget's read and write side: settings, identity secret, nudge decisions, known issues, measurement,
and what a ticket's requester met in the product before writing.

Functions take the session, the tenant and the clock as arguments; those that change data commit
(they are the unit of work), helpers never do.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from marshmallow import ValidationError
from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from server.errors import PreconditionFailed
from server.eventlog import Event, EventLog, NewEvent
from server.eventlog.log import as_utc
from server.incidents.models import ACTIVE, Incident
from server.incidents.service import incident_pages
from server.ingest.service import authenticate_widget
from server.pipeline.models import DetectorCheckpoint
from server.tenants import Tenant
from server.topics.models import Topic
from server.widget import identity
from server.widget.decisions import SessionView, decide as decide_pure
from server.widget.measurement import Arm, compare
from server.widget.features import SIGNALS, PageFriction, SessionFeatures
from server.widget.models import WidgetDecision, WidgetSession, WidgetSettings, WidgetTicketSessions
from server.widget.schemas import widget_settings_schema
from server.widget.settings import WidgetConfig, page_path, path_matches

#: The settings answer compares each declared known issue's pattern with the pages of the widget's newest
#: sessions seen in the last ``SEEN_DAYS`` days, at most ``MAX_SEEN_SESSIONS`` of them, and lists the
#: ``MAX_SEEN_PATHS`` pages most of them visited (``pages_seen``).
SEEN_DAYS = 7
MAX_SEEN_SESSIONS = 2000
MAX_SEEN_PATHS = 50
#: Fields of the settings answer said by the server: a PUT or PATCH that sends them back has them ignored.
SAID_BY_SERVER = ("identity_secret_set", "pages_seen")
SAID_OF_AN_ISSUE = ("pages_matched",)
#: Most active incidents scanned for a page's known issues.
MAX_ACTIVE_INCIDENTS = 500
#: Incident kinds that put a known-issue banner on the pages they name (what customers run into).
BANNER_KINDS = ("spike", "new_topic", "concentration", "friction")
#: Events received this recently and not yet read by the detector make a decision by a ready classifier
#: wait (``no_data``); the cold-start rule judges them at once, from the log.
PENDING_WINDOW = timedelta(seconds=30)
#: Most unread events of one session read from the log for a decision.
MAX_UNREAD = 500
#: Most of the tenant's newest log events a decision reads to find the session's unread ones (through the
#: (tenant, offset) index), however far behind the detector is: when the tenant's unread backlog is longer,
#: its older part is not read and the decision waits for the detector (``no_data``) unless what it read
#: already makes the session stuck by the cold-start rule.
MAX_SCANNED = 5_000
#: Most sessions a measurement looks at.
MAX_MEASURED_SESSIONS = 200_000
#: Most pages shown per session of a ticket's requester (those with friction first), and failing requests
#: per page.
MAX_SESSION_PAGES = 8
MAX_PAGE_FAILURES = 5
#: Most help nudges listed per session of a ticket's requester (the first shown).
MAX_SESSION_NUDGES = 3

FRICTION_MESSAGE = "Some actions on this page are failing for several people right now. We are looking into it."
TICKET_MESSAGE = "We know about a problem affecting this page and are working on it."
NAMED_MESSAGE = "Known issue: {name}. We are working on it."


# --- settings -------------------------------------------------------------------------------------

def _row(session: Session, tenant_id: int, *, lock: bool = False) -> WidgetSettings | None:
    q = select(WidgetSettings).where(WidgetSettings.tenant_id == tenant_id)
    return session.scalar(q.with_for_update() if lock else q)


def _config_of(row: WidgetSettings | None) -> dict[str, Any]:
    return widget_settings_schema.load(dict(row.config) if row is not None else {})


def stored_config(session: Session, tenant_id: int) -> dict[str, Any]:
    """The tenant's configuration with every default filled in."""
    return _config_of(_row(session, tenant_id))


def settings_etag(config: Mapping[str, Any]) -> str:
    """A version of the configuration (its stored values, defaults filled in): what `If-Match` names, so that a
    change based on an older reading is refused instead of undoing changes made since."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _check_version(row: WidgetSettings | None, if_match: Iterable[str] | None) -> None:
    if if_match is not None and settings_etag(_config_of(row)) not in set(if_match):
        raise PreconditionFailed("The widget settings changed since you read them: read them again and redo the "
                                 "change.")


def get_settings(session: Session, tenant_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """The stored settings and what the server says of them: whether an identity secret is set, the pages
    the widget saw lately (``pages_seen``) and, on each declared known issue, how many of those pages its
    pattern matches (``pages_matched``: 0 means its banner shows on none of them)."""
    row = _row(session, tenant_id)
    config = stored_config(session, tenant_id)
    seen = seen_pages(session, tenant_id, now or datetime.now(timezone.utc))
    issues = [{**issue, "pages_matched": sum(1 for p in seen if path_matches(issue["match"], p))}
              for issue in config["known_issues"]]
    ranked = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SEEN_PATHS]
    return {**config, "known_issues": issues, "identity_secret_set": bool(row and row.identity_secret_enc),
            "pages_seen": {"days": SEEN_DAYS, "count": len(seen), "paths": [p for p, _n in ranked]}}


def seen_pages(session: Session, tenant_id: int, now: datetime) -> Counter[str]:
    """The pages (as ``page_path`` names them) of the widget's newest sessions seen in the last ``SEEN_DAYS``
    days (at most ``MAX_SEEN_SESSIONS``), each with how many of those sessions visited it."""
    rows = session.execute(
        select(WidgetSession.last_path, WidgetSession.features)
        .where(WidgetSession.tenant_id == tenant_id, WidgetSession.last_seen_at >= now - timedelta(days=SEEN_DAYS))
        .order_by(WidgetSession.last_seen_at.desc()).limit(MAX_SEEN_SESSIONS))
    seen: Counter[str] = Counter()
    for last_path, features in rows:
        pages = features.get("pages") if isinstance(features, dict) else None
        paths = {str(p) for p in pages} if isinstance(pages, dict) else set()
        if last_path:
            paths.add(last_path)
        seen.update(paths)
    return seen


def settings_of(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings alone in a settings answer (or a body sent back from one): without what the server says
    of them (``SAID_BY_SERVER``, and ``pages_matched`` on each known issue)."""
    out = {k: v for k, v in answer.items() if k not in SAID_BY_SERVER}
    issues = out.get("known_issues")
    if isinstance(issues, list):
        out["known_issues"] = [{k: v for k, v in i.items() if k not in SAID_OF_AN_ISSUE} if isinstance(i, dict)
                               else i for i in issues]
    return out


def put_settings(session: Session, log: EventLog, tenant_id: int, data: Mapping[str, Any], *,
                 now: datetime, if_match: Iterable[str] | None = None) -> dict[str, Any]:
    """Replace the configuration (validated) and tell the detector through a ``control.widget_settings`` event.

    ``identity_secret_set``, ``pages_seen`` and each known issue's ``pages_matched``, which the settings are
    read with, are said by the server and ignored here, so that what ``GET`` answers can be sent back
    changed."""
    if data and set(data) <= set(SAID_BY_SERVER):  # said by the server: alone it is no settings, not a reset
        raise ValidationError({name: ["Said by the server, not a setting: send the settings (`{}` puts every "
                                      "one back to its default)."] for name in data})
    config = widget_settings_schema.load(settings_of(data))
    row = _row(session, tenant_id, lock=True)
    _check_version(row, if_match)
    if row is None:
        row = WidgetSettings(tenant_id=tenant_id, identity_secret_enc=None)
        session.add(row)
    row.config, row.updated_at = config, now
    event = NewEvent(source="control", kind="control.widget_settings", idempotency_key=uuid.uuid4().hex,
                     event_time=now.astimezone(timezone.utc), payload={"widget": config})
    log.append(session, tenant_id, [event], now.astimezone(timezone.utc))
    session.commit()
    return get_settings(session, tenant_id, now=now)


#: Settings that are objects of their own: a change to them names only the fields it changes.
_NESTED = ("cold_start", "friction")


def patch_settings(session: Session, log: EventLog, tenant_id: int, changes: Mapping[str, Any], *,
                   now: datetime, if_match: Iterable[str] | None = None) -> dict[str, Any]:
    """Change only the settings named: each replaces the stored value (a list, such as ``nudges``, as a whole),
    and ``cold_start`` and ``friction`` change field by field; the rest stays as stored. Validated as a whole,
    as ``put_settings`` does, under the row's lock, so two changes at once both count."""
    row = _row(session, tenant_id, lock=True)
    _check_version(row, if_match)
    current = _config_of(row)
    merged = {**current, **{k: v for k, v in changes.items() if k not in SAID_BY_SERVER}}
    for name in _NESTED:
        if isinstance(changes.get(name), Mapping):
            merged[name] = {**current[name], **changes[name]}
    return put_settings(session, log, tenant_id, merged, now=now)


def rotate_identity_secret(session: Session, tenant_id: int, *, secret_key: str, now: datetime) -> str:
    """A new identity secret, stored encrypted and returned in clear (once)."""
    row = _row(session, tenant_id)
    if row is None:
        row = WidgetSettings(tenant_id=tenant_id, config=_config_of(None))
        session.add(row)
    secret = identity.new_secret()
    row.identity_secret_enc, row.updated_at = identity.encrypt(secret, secret_key=secret_key), now
    session.commit()
    return secret


def identity_secret(session: Session, tenant_id: int, *, secret_key: str) -> str | None:
    row = _row(session, tenant_id)
    if row is None or not row.identity_secret_enc:
        return None
    return identity.decrypt(row.identity_secret_enc, secret_key=secret_key)


# --- known issues ---------------------------------------------------------------------------------

def known_issues(session: Session, tenant_id: int, path: str, config: WidgetConfig) -> list[dict[str, Any]]:
    """One banner for the active incidents whose evidence names the page (people on the page need to
    know once that it is being looked at, not once per incident: the page's failures and the tickets
    they cause are one problem), then the admin-declared issues matching it. The banner is the page's
    friction incident's when it has one (its message says actions on the page fail), else the most
    recently detected ticket incident's, which names the problem by the name agents gave its topic when
    they gave one (a keyword label is made from ticket text and is not for customers). It links to the
    tenant's status page when one is set (``status_page_url``). Only incidents about something customers
    run into count: a rise of a topic (spike, new topic, concentrated rise) or the page's friction; a
    change of tone (an organization's sentiment) or a drop in volume is no problem of the page, whichever
    pages its customers met friction on."""
    rows = session.scalars(
        select(Incident).where(Incident.tenant_id == tenant_id, Incident.status.in_(ACTIVE),
                               Incident.kind.in_(BANNER_KINDS))
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(MAX_ACTIVE_INCIDENTS))
    out: list[dict[str, Any]] = []
    naming = [inc for inc in rows if path in incident_pages(inc)]
    if naming:
        inc = next((i for i in naming if i.kind == "friction"), naming[0])
        message = banner_message(session, tenant_id, inc)
        out.append({"id": f"incident-{inc.id}", "message": message, "link_url": config.status_page_url,
                    "incident_id": inc.id})
    for issue in config.issues_for(path):
        out.append({"id": issue.id, "message": issue.message, "link_url": issue.link_url, "incident_id": None})
    return out


def banner_message(session: Session, tenant_id: int, incident: Incident) -> str:
    """What customers are told of an incident: a friction incident's message, else `_ticket_message`."""
    return FRICTION_MESSAGE if incident.kind == "friction" else _ticket_message(session, tenant_id, incident)


def _ticket_message(session: Session, tenant_id: int, incident: Incident) -> str:
    """A ticket incident's banner: the problem by its topic's name, if agents named it."""
    name = topic_name(session, tenant_id, incident)
    return NAMED_MESSAGE.format(name=name) if name else TICKET_MESSAGE


def topic_name(session: Session, tenant_id: int, incident: Incident) -> str:
    """The name agents gave the incident's topic, without a closing full stop; "" when they gave none (a
    keyword label is made from ticket text and is not for customers)."""
    topic = session.get(Topic, (tenant_id, incident.topic_id)) if incident.topic_id is not None else None
    return (topic.name or "").strip().rstrip(".") if topic is not None else ""


def page_known_issues(session: Session, *, site_key: str | None, origin: str | None, url: str,
                      tenant: Tenant | None = None) -> dict[str, Any]:
    """``tenant``: already authenticated by this site key and origin (the rate limiter's key function), or
    None to authenticate here."""
    if tenant is None:
        tenant = authenticate_widget(session, site_key, origin)
    config = WidgetConfig.from_dict(stored_config(session, tenant.id))
    issues = known_issues(session, tenant.id, page_path(url), config)
    session.rollback()
    return {"issues": issues}


# --- decisions ------------------------------------------------------------------------------------

def _verified_user(session: Session, tenant_id: int, body: Mapping[str, Any], config: WidgetConfig,
                   secret_key: str) -> str | None:
    user_id = body.get("user_id")
    if not user_id:
        return None
    if not config.identity_required:
        return str(user_id)
    secret = identity_secret(session, tenant_id, secret_key=secret_key)
    return str(user_id) if identity.verify(secret, str(user_id), body.get("user_hash")) else None


def _read_offset(session: Session, tenant_id: int, row: WidgetSession | None) -> int:
    """How far the detector has folded this session's events: the row records the newest it has
    (``last_offset``, written with every batch); the detector's checkpoint (saved every
    ``DETECTOR_CHECKPOINT_SECONDS``, in a transaction that also writes the rows) is a floor, so that a
    long-idle session does not scan the tenant's log since its last event, and stands alone for rows
    written before ``last_offset`` existed (and for sessions without a row)."""
    read = (row.last_offset if row is not None else None) or 0
    for name, offset in session.execute(select(DetectorCheckpoint.partition, DetectorCheckpoint.offset)):
        index, _, count = name[1:].partition("of")  # "p<index>of<count>"; an old partitioning's row lags
        if index.isdigit() and count.isdigit() and int(count) > 0 and tenant_id % int(count) == int(index):
            read = max(read, offset)
    return read


def unread_events(session: Session, tenant_id: int, session_id: str,
                  row: WidgetSession | None) -> tuple[list[tuple[datetime, datetime, dict[str, Any]]], bool]:
    """The widget session's events the detector has not folded into its row yet, oldest first (at most
    ``MAX_UNREAD``): (received, event time, payload), and whether they are all there is (False when the
    tenant's unread log is longer than ``MAX_SCANNED`` events: only its newest ``MAX_SCANNED`` are read,
    so a decision reads a bounded number of rows while the detector works through a backlog, such as a
    history import). Other sessions' unread events do not count: under steady traffic some always wait.
    Widget events' idempotency keys start with their session's id and a "/"; both queries walk the
    (tenant, offset) index from the newest event down to the read offset or the bound, whichever is first."""
    read = _read_offset(session, tenant_id, row)
    cut = session.scalar(select(Event.offset).where(Event.tenant_id == tenant_id, Event.offset > read)
                         .order_by(Event.offset.desc()).offset(MAX_SCANNED).limit(1))
    rows = session.execute(select(Event.received_at, Event.event_time, Event.payload).where(
        Event.tenant_id == tenant_id, Event.offset > (read if cut is None else cut),
        Event.source == "widget", Event.idempotency_key.startswith(f"{session_id}/", autoescape=True))
        .order_by(Event.offset).limit(MAX_UNREAD))
    events = [(as_utc(rx), as_utc(at), payload) for rx, at, payload in rows if isinstance(payload, dict)]
    return events, cut is None


def _tenant_ready(session: Session, tenant_id: int) -> bool:
    """Whether the tenant's classifier was ready when the detector last wrote a session."""
    return bool(session.scalar(select(WidgetSession.model_ready).where(WidgetSession.tenant_id == tenant_id)
                               .order_by(WidgetSession.last_seen_at.desc()).limit(1)))


def session_view(session: Session, tenant_id: int, session_id: str, path: str, config: WidgetConfig,
                 now: datetime) -> SessionView | None:
    """What the decision knows of the session on the page: the row the detector wrote, with the session's
    own events it has not folded yet added to the page's friction (the detector may be busy reading a
    backlog, such as a history import; the session's events are in the log the moment the widget's batch
    is accepted). The cold-start rule is the detector's, on the same events. None when nothing of the
    session is known. ``provisional`` when the row misses recent events: a ready classifier's score does
    not include them, so a decision by it waits (``no_data``). When the tenant's unread log is longer than
    ``MAX_SCANNED``, the session's older unread events may lie beyond what is read: the view is None
    (``no_data``, the decision waits for the detector) unless what was read already makes the session stuck
    on the page by the cold-start rule (more events cannot undo that), and then it is provisional."""
    row = session.get(WidgetSession, (tenant_id, session_id))
    unread, complete = unread_events(session, tenant_id, session_id, row)
    if row is None and not unread:
        return None
    features = SessionFeatures(session_id, started_ms=0)
    stored = row.features if row is not None and isinstance(row.features, Mapping) else {}
    pages = stored.get("pages") if isinstance(stored.get("pages"), Mapping) else {}
    if isinstance(pages.get(path), Mapping):
        features.pages[path] = PageFriction.from_json(pages[path])
    for _, at, payload in unread:
        features.add(payload, int(at.timestamp() * 1000))
    page = features.pages.get(path) or PageFriction()
    stuck = set(row.stuck_pages or ()) if row is not None else set()
    if page.stuck(config.cold_start.repeat_failures):
        stuck.add(path)
    if not complete and path not in stuck:
        return None  # more of the session's events may wait beyond the bound: the detector decides
    pending = not complete or (
        bool(unread) and (row is None or any(rx >= now - PENDING_WINDOW for rx, _, _ in unread)))
    # The tips the person closed, as the row has them and as the unread events add (rows from before: none).
    closed = stored.get("dismissed") if isinstance(stored.get("dismissed"), list) else []
    dismissed = dict.fromkeys([*(str(t) for t in closed if isinstance(t, str)), *features.dismissed_tips()])
    return SessionView(p_ticket=row.p_ticket if row is not None else None,
                       model_ready=row.model_ready if row is not None else _tenant_ready(session, tenant_id),
                       stuck_pages=tuple(sorted(stuck)), met=tuple(page.met()), provisional=pending,
                       dismissed=tuple(dismissed))


def decide(session: Session, tenant: Tenant, body: Mapping[str, Any], *, secret_key: str,
           now: datetime) -> dict[str, Any]:
    """Decide whether the session gets a nudge on this page, record the decision, and return it with the
    page's known issues."""
    config = WidgetConfig.from_dict(stored_config(session, tenant.id))
    path = page_path(body["url"])
    session_id = body["session_id"]
    user_id = _verified_user(session, tenant.id, body, config, secret_key)
    view = session_view(session, tenant.id, session_id, path, config, now)
    closed = set(body.get("closed") or ()) - set(view.dismissed) if view is not None else set()
    if closed:  # closed in the browser, the closing still on its way to the log
        view = replace(view, dismissed=tuple(sorted({*view.dismissed, *closed})))
    would = (WidgetDecision.tenant_id == tenant.id, WidgetDecision.would_nudge.is_(True))
    in_session = session.scalar(select(func.count()).select_from(WidgetDecision).where(
        *would, WidgetDecision.session_id == session_id)) or 0
    since = now - timedelta(hours=24)
    who = WidgetDecision.user_id == user_id if user_id else WidgetDecision.session_id == session_id
    in_day = session.scalar(select(func.count()).select_from(WidgetDecision).where(
        *would, who, WidgetDecision.decided_at >= since)) or 0
    d = decide_pure(config, tenant_id=tenant.id, session_id=session_id, path=path, session=view,
                    session_nudges=in_session, day_nudges=in_day)
    content = d.content
    session.add(WidgetDecision(tenant_id=tenant.id, session_id=session_id, user_id=user_id, path=path,
                               reason=d.reason, nudge_id=content.id if content else None, holdout=d.holdout,
                               would_nudge=d.would_nudge, p_ticket=d.p_ticket, decided_at=now))
    banners = known_issues(session, tenant.id, path, config)
    session.commit()
    nudge = None if d.nudge is None else {"id": d.nudge.id, "title": d.nudge.title, "body": d.nudge.body,
                                          "link_url": d.nudge.link_url, "link_text": d.nudge.link_text}
    return {"nudge": nudge, "reason": d.reason, "holdout": d.holdout,
            "p_ticket": None if d.p_ticket is None else round(d.p_ticket, 4), "banners": banners}


def decide_for_page(session: Session, *, site_key: str | None, origin: str | None, body: Mapping[str, Any],
                    secret_key: str, now: datetime, tenant: Tenant | None = None) -> dict[str, Any]:
    """``tenant`` as for `page_known_issues`."""
    if tenant is None:
        tenant = authenticate_widget(session, site_key, origin)
    return decide(session, tenant, body, secret_key=secret_key, now=now)


# --- measurement ----------------------------------------------------------------------------------

def measurement(session: Session, tenant_id: int, *, now: datetime, days: int = 28) -> dict[str, Any]:
    """Ticket rate within 24 h of nudged sessions against held-out sessions that would have been nudged."""
    since = now - timedelta(days=days)
    groups = dict(session.execute(
        select(WidgetDecision.session_id, func.max(WidgetDecision.holdout.cast(Integer)))
        .where(WidgetDecision.tenant_id == tenant_id, WidgetDecision.would_nudge.is_(True),
               WidgetDecision.decided_at >= since)
        .group_by(WidgetDecision.session_id).limit(MAX_MEASURED_SESSIONS)).all())
    counts = {"nudged": [0, 0], "holdout": [0, 0]}
    pending = anonymous = 0
    ids = list(groups)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for sid, user_id, outcome in session.execute(
                select(WidgetSession.session_id, WidgetSession.user_id, WidgetSession.outcome)
                .where(WidgetSession.tenant_id == tenant_id, WidgetSession.session_id.in_(chunk))):
            if not user_id:
                anonymous += 1
            elif outcome not in ("ticket", "none"):
                pending += 1
            else:
                arm = counts["holdout" if groups[sid] else "nudged"]
                arm[0] += 1
                arm[1] += outcome == "ticket"
    session.rollback()
    result = compare(Arm(*counts["nudged"]), Arm(*counts["holdout"]))
    return {**result, "pending": pending, "anonymous": anonymous, "days": days}


# --- a ticket's requester in the product ------------------------------------------------------------

def _session_page(path: str, page: Mapping[str, Any], stuck: bool,
                  incident: Incident | None) -> dict[str, Any]:
    counts = page.get("counts") if isinstance(page.get("counts"), Mapping) else {}
    failures = page.get("failures") if isinstance(page.get("failures"), Mapping) else {}
    top = sorted(((str(k), int(v)) for k, v in failures.items() if isinstance(v, int)), key=lambda kv: (-kv[1], kv[0]))
    return {
        "path": path, "views": int(page.get("views") or 0),
        "seconds": round(int(page.get("time_ms") or 0) / 1000),
        "signals": {s: int(counts[s]) for s in SIGNALS if isinstance(counts.get(s), int) and counts[s] > 0},
        "failures": [{"request": k, "count": v} for k, v in top[:MAX_PAGE_FAILURES]],
        "stuck": stuck,
        "incident": None if incident is None else {"id": incident.id, "title": incident.title,
                                                   "status": incident.status},
    }


def _nudge_titles(session: Session, tenant_id: int) -> dict[str, str]:
    """Nudge id -> title from the stored configuration (validated when it was written), without loading
    the whole configuration through its schema."""
    row = _row(session, tenant_id)
    nudges = row.config.get("nudges") if row is not None and isinstance(row.config, Mapping) else None
    if not isinstance(nudges, list):
        return {}
    return {str(n["id"]): str(n["title"]) for n in nudges
            if isinstance(n, Mapping) and isinstance(n.get("id"), str) and isinstance(n.get("title"), str)}


def ticket_sessions(session: Session, tenant_id: int, zendesk_id: str) -> dict[str, Any] | None:
    """What the ticket's requester met in the product in the day before writing: their widget sessions
    (newest first), each page's friction signals and failing requests, whether the cold-start rule said
    they were stuck there, the page's live friction incident, and the help nudges the widget showed them
    (what they already read; held-out sessions saw none). None when no session is known (the
    widget is not installed, the user was anonymous, or ``ticket_user_keys`` do not join them)."""
    link = session.get(WidgetTicketSessions, (tenant_id, zendesk_id))
    if link is None or not link.session_ids:
        return None
    rows = {r.session_id: r for r in session.scalars(select(WidgetSession).where(
        WidgetSession.tenant_id == tenant_id, WidgetSession.session_id.in_(list(link.session_ids))))}
    live: dict[str, Incident] = {}
    for inc in session.scalars(
            select(Incident).where(Incident.tenant_id == tenant_id, Incident.kind == "friction",
                                   Incident.status.in_(ACTIVE))
            .order_by(Incident.detected_at, Incident.id).limit(MAX_ACTIVE_INCIDENTS)):
        for path in incident_pages(inc):
            live[path] = inc  # the newest wins
    ticket_at = as_utc(link.ticket_at)
    shown: dict[str, list[dict[str, Any]]] = {}
    for d in session.scalars(select(WidgetDecision).where(
            WidgetDecision.tenant_id == tenant_id, WidgetDecision.session_id.in_(list(link.session_ids)),
            WidgetDecision.reason == "nudge").order_by(WidgetDecision.decided_at, WidgetDecision.id)):
        nudges = shown.setdefault(d.session_id, [])
        if len(nudges) < MAX_SESSION_NUDGES:
            nudges.append({"nudge_id": d.nudge_id, "title": None, "path": d.path, "at": as_utc(d.decided_at)})
    if shown:  # the nudges' titles as configured now (a removed nudge has none)
        titles = _nudge_titles(session, tenant_id)
        for nudges in shown.values():
            for n in nudges:
                n["title"] = titles.get(n["nudge_id"] or "")
    out = []
    for sid in reversed(link.session_ids):
        row = rows.get(sid)
        if row is None:
            continue
        features = row.features if isinstance(row.features, Mapping) else {}
        pages = features.get("pages") if isinstance(features.get("pages"), Mapping) else {}
        stuck = set(row.stuck_pages or ())
        views = [_session_page(str(p), f, str(p) in stuck, live.get(str(p)))
                 for p, f in pages.items() if isinstance(f, Mapping)]
        views.sort(key=lambda v: (-sum(v["signals"].values()), -v["views"], v["path"]))
        started = as_utc(row.started_at)
        out.append({
            "session_id": sid, "started_at": started, "last_seen_at": as_utc(row.last_seen_at),
            "minutes_before_ticket": max(0, round((ticket_at - started).total_seconds() / 60)),
            "last_path": row.last_path, "account_id": row.account_id, "pages": views[:MAX_SESSION_PAGES],
            "signals": {s: int(n) for s, n in (features.get("totals") or {}).items()
                        if s in SIGNALS and isinstance(n, int) and n > 0},
            "nudges": shown.get(sid, []),
        })
    return {"ticket_at": ticket_at, "sessions": out} if out else None
