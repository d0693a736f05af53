"""Queries behind the incident endpoints: lists, search, CSV export, an incident's detail, history, chart,
accounts and related incidents, and the incidents a ticket or a page belongs to.

Every query is scoped by tenant. People's changes are in server/incidents/actions.py, releases in
server/incidents/releases.py. The functions take the session and the clock as arguments; none reads
request globals.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.eventlog.log import as_utc
from server.eventlog.models import Event
from server.incidents.models import ACTIVE, Feedback, Incident, IncidentTicket, Notification, VolumePoint
from server.incidents.schemas import MAX_ID
from server.incidents.settings import KIND_NAMES
from server.notify.mutes import active_mute, mute_view
from server.notify.service import incident_notifications
from server.tenants import Tenant
from server.topics.models import Ticket, Topic

#: ``ticket_ids`` per incident in lists; the detail has them all.
LIST_TICKET_IDS = 50
#: The volume window of one incident: from 48 h before it was first seen to 24 h after it ended.
VOLUME_BEFORE = timedelta(hours=48)
VOLUME_AFTER = timedelta(hours=24)
#: At most this many hours of volume, the latest ones (an incident open for months).
MAX_VOLUME_HOURS = 24 * 60
#: Incidents are related when they name a page in common and their times come within this of each other.
RELATED_WITHIN = timedelta(hours=24)
#: Incidents holding at least this many of the same tickets at about the same time are related.
RELATED_SHARED_TICKETS = 2
#: Most candidates read, and most related incidents shown, per incident.
RELATED_CANDIDATES, MAX_RELATED = 200, 10



def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


# --- reading incidents -------------------------------------------------------------------------------


def topic_ref(topic_id: int, name: str | None, label: str | None) -> dict[str, Any]:
    """A topic as an incident names it: what it goes by (``label``: its name, else its keyword label),
    the name people gave it (``name``, null without one) and its ``keyword_label`` (words from its tickets,
    null for a topic no longer stored)."""
    return {"id": topic_id, "label": name or label or f"Topic {topic_id}", "name": name or None,
            "keyword_label": label or None}


def topic_refs(session: Session, tenant_id: int, topic_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    ids = {t for t in topic_ids if t is not None}
    if not ids:
        return {}
    rows = session.execute(select(Topic.id, Topic.name, Topic.label)
                           .where(Topic.tenant_id == tenant_id, Topic.id.in_(ids)))
    return {tid: topic_ref(tid, name, label) for tid, name, label in rows}


def topic_labels(session: Session, tenant_id: int, topic_ids: Iterable[int | None]) -> dict[int, str]:
    return {tid: ref["label"] for tid, ref in topic_refs(session, tenant_id, topic_ids).items()}


def _ticket_ids(session: Session, tenant_id: int, incident_ids: list[int],
                cap: int | None) -> dict[int, tuple[list[str], int]]:
    """Attached Zendesk ids per incident (ordered by attached_at, then numerically), and how many in all."""
    if not incident_ids:
        return {}
    order = (IncidentTicket.attached_at, func.length(IncidentTicket.zendesk_id), IncidentTicket.zendesk_id)
    inner = select(
        IncidentTicket.incident_id, IncidentTicket.zendesk_id,
        func.row_number().over(partition_by=IncidentTicket.incident_id, order_by=order).label("n"),
        func.count().over(partition_by=IncidentTicket.incident_id).label("total"),
    ).where(IncidentTicket.tenant_id == tenant_id, IncidentTicket.incident_id.in_(incident_ids)).subquery()
    q = select(inner.c.incident_id, inner.c.zendesk_id, inner.c.total)
    if cap is not None:
        q = q.where(inner.c.n <= cap)
    out: dict[int, tuple[list[str], int]] = {}
    for incident_id, zendesk_id, total in session.execute(q.order_by(inner.c.incident_id, inner.c.n)):
        out.setdefault(incident_id, ([], int(total)))[0].append(zendesk_id)
    return out


def _named_now(incident: Incident, label: str | None) -> tuple[str, str]:
    """The incident's title and sentence naming its topic as it is called now (agents renamed it, or its
    keywords moved on since detection): both were written with the name it had then."""
    return _renamed(incident.kind, incident.title, incident.sentence,
                    (incident.evidence or {}).get("topic_label"), label)


def _renamed(kind: str, title: str, sentence: str, then: Any, label: str | None) -> tuple[str, str]:
    """``title`` and ``sentence``, written when the topic was called ``then``, with its name ``label`` now."""
    from server.incidents.words import title as headline

    if not label or not isinstance(then, str) or not then or label == then:
        return title, sentence
    named = title
    if title == headline(kind, then)[:300]:
        named = headline(kind, label)[:300]
    said = sentence or ""
    for before, after in ((f"'{then}'", f"'{label}'"), (f" on {then} ", f" on {label} ")):
        if before in said:
            return named, said.replace(before, after, 1)
    return named, sentence


def incident_view(incident: Incident, refs: Mapping[int, Mapping[str, Any]], tickets: tuple[list[str], int] | None,
                  *, capped: bool) -> dict[str, Any]:
    ids, total = tickets or ([], 0)
    topic = None
    known = refs.get(incident.topic_id) if incident.topic_id is not None else None
    if incident.topic_id is not None:
        topic = dict(known) if known is not None else topic_ref(incident.topic_id, None, None)
    headline, sentence = _named_now(incident, known["label"] if known is not None else None)
    view = {
        "id": incident.id, "kind": incident.kind, "status": incident.status, "status_by": incident.status_by,
        "status_changed_at": as_utc(incident.status_changed_at), "topic": topic, "series": incident.series,
        "title": headline, "sentence": sentence, "llm_summary": incident.llm_summary,
        "direction": incident.direction,
        "first_seen_at": as_utc(incident.first_seen_at), "detected_at": as_utc(incident.detected_at),
        "last_activity_at": as_utc(incident.last_activity_at), "resolved_at": _utc(incident.resolved_at),
        "ticket_count": incident.ticket_count, "requester_count": incident.requester_count,
        "account_count": incident.account_count, "p_value": incident.p_value, "surprise": incident.surprise,
        "useful_count": incident.useful_count or 0, "noise_count": incident.noise_count or 0,
        "evidence": incident.evidence or {}, "ticket_ids": ids,
    }
    if capped:
        view["ticket_ids_truncated"] = total > len(ids)
    return view


#: Words of a search (``q``) used; each must appear.
SEARCH_WORDS = 8


def _topics_matching(tenant_id: int, word: str) -> Any:
    """Ids of the tenant's topics whose name, keyword label, keywords or summary contain ``word``."""
    return select(Topic.id).where(Topic.tenant_id == tenant_id, or_(
        Topic.name.icontains(word, autoescape=True), Topic.label.icontains(word, autoescape=True),
        cast(Topic.keywords, String).icontains(word, autoescape=True),
        Topic.summary.icontains(word, autoescape=True)))


def _subject_matches(tenant_id: int, word: str) -> Any:
    """Whether one of the incident's tickets has ``word`` in its subject (read through the incident's own
    tickets, on the primary keys of both tables: an incident's tickets, then each ticket by its id)."""
    return exists().where(IncidentTicket.tenant_id == tenant_id, IncidentTicket.incident_id == Incident.id,
                          Ticket.tenant_id == tenant_id, Ticket.zendesk_id == IncidentTicket.zendesk_id,
                          Ticket.subject.icontains(word, autoescape=True))


def _words(q: str | None) -> list[str]:
    return (q or "").split()[:SEARCH_WORDS]


def _matching(tenant_id: int, *, status: list[str] | None = None, kind: str | None = None,
              topic_id: int | None = None, since: datetime | None = None, q: str | None = None) -> Any:
    """The tenant's incidents that match the list's filters. ``q``: every word (case-insensitive) appears in
    the title, the sentence, Claude's summary, the incident's topic (the name agents gave it, its keyword
    label, keywords or summary) or the subject of one of its tickets."""
    query = select(Incident).where(Incident.tenant_id == tenant_id)
    if status:
        query = query.where(Incident.status.in_(status))
    if kind:
        query = query.where(Incident.kind == kind)
    if topic_id is not None:
        query = query.where(Incident.topic_id == topic_id)
    if since is not None:
        query = query.where(Incident.detected_at >= since.astimezone(timezone.utc))
    for word in _words(q):
        query = query.where(or_(Incident.title.icontains(word, autoescape=True),
                                Incident.sentence.icontains(word, autoescape=True),
                                Incident.llm_summary.icontains(word, autoescape=True),
                                Incident.topic_id.in_(_topics_matching(tenant_id, word)),
                                _subject_matches(tenant_id, word)))
    return query


def _order(tenant_id: int, q: str | None) -> tuple[Any, ...]:
    """Newest first; with a search, incidents whose title or topic name every word names come first (a
    search for "invoice" lists the invoice spike before an incident whose sentence only mentions a page)."""
    words = _words(q)
    if not words:
        return _NEWEST
    named = and_(*(or_(Incident.title.icontains(w, autoescape=True),
                       Incident.topic_id.in_(select(Topic.id).where(
                           Topic.tenant_id == tenant_id, or_(Topic.name.icontains(w, autoescape=True),
                                                             Topic.label.icontains(w, autoescape=True)))))
                   for w in words))
    return (case((named, 0), else_=1), *_NEWEST)


_NEWEST = (Incident.detected_at.desc(), Incident.id.desc())


def list_incidents(session: Session, tenant_id: int, *, limit: int, offset: int, **filters: Any) -> dict[str, Any]:
    q = _matching(tenant_id, **filters)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(*_order(tenant_id, filters.get("q"))).limit(limit).offset(offset)).all()
    refs = topic_refs(session, tenant_id, (r.topic_id for r in rows))
    tickets = _ticket_ids(session, tenant_id, [r.id for r in rows], LIST_TICKET_IDS)
    problems = _problem_tickets(session, tenant_id, [r.id for r in rows])
    views = [incident_view(r, refs, tickets.get(r.id), capped=True) for r in rows]
    for view in views:
        view["problem_ticket_id"] = problems.get(view["id"])
    return {"incidents": views, "total": total}


def _problem_tickets(session: Session, tenant_id: int, incident_ids: list[int]) -> dict[int, int]:
    """The Zendesk problem ticket of each incident that has one (agents made it from the sidebar)."""
    from server.zendesk.problems import problem_ticket_ids

    return problem_ticket_ids(session, tenant_id, incident_ids)


#: Most incidents in one export, newest first.
EXPORT_MAX = 10_000
EXPORT_COLUMNS = ("id", "kind", "kind_name", "status", "status_by", "title", "sentence", "llm_summary", "topic_id", "topic",
                  "series", "first_seen_at", "detected_at", "resolved_at", "ticket_count", "requester_count",
                  "account_count", "p_value", "useful_count", "noise_count", "merged_into", "problem_ticket_id")


def _cell(value: Any) -> Any:
    """A CSV cell. Text that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a
    carriage return) is prefixed with an apostrophe: ticket-derived text must stay text."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def export_incidents(session: Session, tenant_id: int, **filters: Any) -> tuple[str, int]:
    """The matching incidents as CSV (a header row, then at most EXPORT_MAX rows, newest first) and how
    many matched in all."""
    q = _matching(tenant_id, **filters)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    # The columns only: an incident's evidence (its hourly series, tickets' text) is read 500 incidents
    # at a time, and only for resolved ones, where a merge is recorded.
    names = [c for c in EXPORT_COLUMNS if c not in ("kind_name", "topic", "merged_into", "problem_ticket_id")]
    # The page names an incident's topic as it is called now (renamed since detection): so does the file,
    # from the name the title and sentence were written with (evidence.topic_label).
    then = Incident.evidence["topic_label"].as_string().label("topic_label_then")
    rows = session.execute(q.with_only_columns(*(getattr(Incident, c) for c in names), then)
                           .order_by(*_order(tenant_id, filters.get("q"))).limit(EXPORT_MAX)).all()
    labels = topic_labels(session, tenant_id, (r.topic_id for r in rows))
    closed = [r.id for r in rows if r.status == "resolved"]
    merged: dict[int, Any] = {}
    for start in range(0, len(closed), 500):
        for ident, evidence in session.execute(select(Incident.id, Incident.evidence).where(
                Incident.tenant_id == tenant_id, Incident.id.in_(closed[start:start + 500]))):
            into = (evidence or {}).get("merged_into_incident")
            if isinstance(into, int) and not isinstance(into, bool):
                merged[ident] = into
    problems: dict[int, int] = {}
    for start in range(0, len(rows), 500):
        problems.update(_problem_tickets(session, tenant_id, [r.id for r in rows[start:start + 500]]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        values = {**r._asdict(), "topic": labels.get(r.topic_id) if r.topic_id is not None else None,
                  "merged_into": merged.get(r.id), "problem_ticket_id": problems.get(r.id)}
        values["kind_name"] = KIND_NAMES.get(r.kind, r.kind)
        values["title"], values["sentence"] = _renamed(r.kind, r.title, r.sentence, r.topic_label_then,
                                                       values["topic"])
        writer.writerow([_cell(values[c]) for c in EXPORT_COLUMNS])
    return out.getvalue(), total


def get_incident(session: Session, tenant_id: int, incident_id: int, *, lock: bool = False) -> Incident:
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"No incident {incident_id}.")
    # populate_existing: the session does not expire on commit, and counts are updated in SQL.
    q = (select(Incident).where(Incident.tenant_id == tenant_id, Incident.id == incident_id)
         .execution_options(populate_existing=True))
    if lock:
        q = q.with_for_update()
    incident = session.scalar(q)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident


def volume(session: Session, tenant_id: int, incident: Incident, now: datetime) -> list[dict[str, Any]]:
    """The series' hourly points from 48 h before first seen to 24 h after resolution (or now); the hour
    the detector last saw open comes last, marked partial, until the closed hour is written (an incident
    resolved within that hour keeps it, so its rise does not leave its own chart)."""
    end = (_utc(incident.resolved_at) or now.astimezone(timezone.utc)) + VOLUME_AFTER
    start = max(as_utc(incident.first_seen_at) - VOLUME_BEFORE, end - timedelta(hours=MAX_VOLUME_HOURS))
    rows = session.scalars(select(VolumePoint).where(
        VolumePoint.tenant_id == tenant_id, VolumePoint.series == incident.series,
        VolumePoint.bucket_start >= start, VolumePoint.bucket_start <= end).order_by(VolumePoint.bucket_start))
    points = [{"start": as_utc(p.bucket_start), "tickets": p.tickets, "requesters": p.requesters,
               "expected": p.expected, "lower": p.lower, "upper": p.upper, "partial": False} for p in rows]
    return with_hour_so_far(points, incident.evidence)


def with_hour_so_far(points: list[dict[str, Any]], evidence: dict[str, Any] | None) -> list[dict[str, Any]]:
    """An incident's closed hours followed by the open hour the detector last wrote in its evidence
    (``evidence["hour_so_far"]``, while it was active), marked ``partial``, unless a closed hour already
    covers it. ``points`` is not changed."""
    hour = (evidence or {}).get("hour_so_far")
    if not isinstance(hour, dict):
        return points
    try:
        start = datetime.fromisoformat(hour["start"])
        point = {"start": start, "tickets": int(hour["tickets"]), "requesters": int(hour["requesters"]),
                 "expected": float(hour["expected"]), "lower": float(hour["lower"]), "upper": float(hour["upper"]),
                 "partial": True, "as_of": datetime.fromisoformat(hour["as_of"])}
    except (KeyError, TypeError, ValueError):
        return points  # written by another version: the closed hours stand alone
    return points + [point] if not points or start > points[-1]["start"] else points


def incident_detail(session: Session, tenant_id: int, incident_id: int, *, now: datetime) -> dict[str, Any]:
    incident = get_incident(session, tenant_id, incident_id)
    refs = topic_refs(session, tenant_id, [incident.topic_id])
    tickets = _ticket_ids(session, tenant_id, [incident.id], None)
    view = incident_view(incident, refs, tickets.get(incident.id), capped=False)
    view["problem_ticket_id"] = _problem_tickets(session, tenant_id, [incident.id]).get(incident.id)
    view["volume"] = volume(session, tenant_id, incident, now)
    view["related"] = related(session, tenant_id, incident, now)
    view["accounts"], view["accounts_total"] = incident_accounts(session, tenant_id, incident.id)
    feedback = session.scalars(select(Feedback).where(Feedback.tenant_id == tenant_id,
                                                      Feedback.incident_id == incident.id)
                               .order_by(Feedback.created_at, Feedback.id))
    view["feedback"] = [{"verdict": f.verdict, "by": f.by, "note": f.note, "created_at": as_utc(f.created_at)}
                        for f in feedback]
    view["zendesk_url"] = zendesk_url(session, tenant_id)
    view["notifications"] = incident_notifications(session, tenant_id, incident.id)
    view["history"] = incident_history(session, tenant_id, incident, view["feedback"], title=view["title"])
    mute = active_mute(session, tenant_id, incident.id, incident.series, now)
    view["mute"] = mute_view(mute) if mute is not None else None
    return view


#: Most entries of an incident's history (the latest kept).
MAX_HISTORY = 200
_STATUS_WORDS = {"acknowledged": "Acknowledged", "resolved": "Resolved", "dismissed": "Dismissed", "open": "Reopened"}


def _count(n: Any, noun: str) -> str:
    n = n if isinstance(n, int) and not isinstance(n, bool) else 0
    return f"{n} {noun}{'' if n == 1 else 's'}"


def incident_history(session: Session, tenant_id: int, incident: Incident,
                     feedback: list[dict[str, Any]], *, title: str) -> list[dict[str, Any]]:
    """What happened to the incident, oldest first: its rise and detection, what the detector told people
    (it grew, rose again, went back to its baseline), and what people did (status changes, merges,
    feedback), each with when and who. ``by`` and ``text`` hold names people typed: render as text."""
    if incident.kind == "friction":
        first = "First failures of the rise on the page"
    elif incident.kind == "sentiment":
        first = "First ticket of the change of tone"
    else:
        first = "First ticket of the rise" if incident.direction == "up" else "Volume started to fall"
    items: list[dict[str, Any]] = [
        {"at": as_utc(incident.first_seen_at), "event": "first_seen", "by": "detector", "text": first},
        {"at": as_utc(incident.detected_at), "event": "opened", "by": "detector",
         "text": f"Opened: {title}"},  # the detail's title: its topic as it is called now
    ]
    notes = session.scalars(select(Notification).where(Notification.tenant_id == tenant_id,
                                                       Notification.incident_id == incident.id,
                                                       Notification.event.in_(("grew", "reopened", "resolved")))
                            .order_by(Notification.seq))
    for note in notes:
        p = note.payload or {}
        if note.event in ("resolved", "reopened") and p.get("status_by") not in (None, "detector"):
            continue  # a person's decision: listed from the control event below
        ev = p.get("evidence")
        sessions = ev.get("sessions") if isinstance(ev, dict) else None
        grew = (f"Grew: {_count(sessions, 'session')} on the page" if incident.kind == "friction"
                else f"Grew: {_count(p.get('ticket_count'), 'ticket')} from {_count(p.get('requester_count'), 'customer')}")
        text = {"grew": grew,
                "reopened": "Rising again after it had ended",
                "resolved": "Resolved by the detector: back at its usual level"}[note.event]
        items.append({"at": as_utc(note.created_at), "event": note.event, "by": "detector", "text": text})
    # People's status changes and merges: the tenant's control events (few: one per decision) since the
    # incident was detected, read through the (tenant, source) index and matched here, so that no
    # ticket or widget event is read and no payload of another kind is cast.
    rows = session.execute(
        select(Event.event_time, Event.kind, Event.payload)
        .where(Event.tenant_id == tenant_id, Event.source == "control",
               Event.kind.in_(("control.status", "control.merge", "control.unmerge")),
               Event.received_at >= incident.detected_at).order_by(Event.offset))
    for at, kind, payload in rows:
        p = payload if isinstance(payload, dict) else {}
        if p.get("incident_id") != incident.id and not (kind != "control.status" and p.get("into") == incident.id):
            continue
        by = str(p.get("by") or "someone")
        if kind == "control.status":
            word = _STATUS_WORDS.get(str(p.get("status")), str(p.get("status")))
            items.append({"at": as_utc(at), "event": "status", "by": by, "text": f"{word} by {by}",
                          "_status": p.get("status")})
        elif kind == "control.unmerge":
            mine = p.get("incident_id") == incident.id
            items.append({"at": as_utc(at), "event": "unmerged", "by": by,
                          "text": (f"Merge into incident #{p.get('into')} undone by {by}" if mine else
                                   f"Merge of incident #{p.get('incident_id')} undone by {by}: its tickets went back")})
        elif p.get("incident_id") == incident.id:
            items.append({"at": as_utc(at), "event": "merged", "by": by,
                          "text": f"Merged into incident #{p.get('into')} by {by}"})
        else:
            items.append({"at": as_utc(at), "event": "merged_in", "by": by,
                          "text": f"Incident #{p.get('incident_id')} merged into this one by {by}"})
    for f in feedback:
        note = f": {f['note']}" if f.get("note") else ""
        items.append({"at": f["created_at"], "event": "feedback", "by": f["by"],
                      "text": f"Marked {f['verdict']} by {f['by']}{note}"})
    order = {"first_seen": 0, "opened": 1}
    items.sort(key=lambda i: (i["at"], order.get(i["event"], 2)))
    state = "open"  # an acknowledgement taken back reads as the page's button does, not as a reopening
    for item in items:
        status = item.pop("_status", None)
        if item["event"] == "status":
            if status == "open" and state == "acknowledged":
                item["text"] = f"Back to open by {item['by']}"
            state = status
        elif item["event"] in ("resolved", "merged"):
            state = "resolved"
        elif item["event"] in ("reopened", "unmerged"):
            state = "open"
    return items[-MAX_HISTORY:]


#: Organizations listed on an incident's detail (the count covers them all).
MAX_ACCOUNTS = 20


def incident_accounts(session: Session, tenant_id: int, incident_id: int) -> tuple[list[dict[str, Any]], int]:
    """The Zendesk organizations whose people wrote the incident's tickets, most tickets first (at most
    ``MAX_ACCOUNTS``), with their names where known, and how many organizations there are in all."""
    from server.accounts.models import Organization

    who = func.coalesce(Ticket.requester_id, Ticket.requester_email_sha256)
    rows = session.execute(
        select(Ticket.organization_id, func.count(), func.count(who.distinct()), func.min(Ticket.created_at))
        .join(IncidentTicket, and_(IncidentTicket.tenant_id == Ticket.tenant_id,
                                   IncidentTicket.zendesk_id == Ticket.zendesk_id))
        .where(IncidentTicket.tenant_id == tenant_id, IncidentTicket.incident_id == incident_id,
               Ticket.organization_id.is_not(None))
        .group_by(Ticket.organization_id)).all()
    rows = sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))
    top = rows[:MAX_ACCOUNTS]
    names: dict[str, str] = {}
    if top:
        names = dict(session.execute(select(Organization.zendesk_id, Organization.name).where(
            Organization.tenant_id == tenant_id, Organization.zendesk_id.in_([r[0] for r in top]))).tuples().all())
    return ([{"organization_id": org, "name": names.get(org), "tickets": n, "requesters": people,
              "first_ticket_at": as_utc(first) if first else None} for org, n, people, first in top], len(rows))


def zendesk_url(session: Session, tenant_id: int) -> str | None:
    """``https://<subdomain>.zendesk.com`` of the tenant's connected Zendesk (or the subdomain it was
    created with), where its tickets open at ``/agent/tickets/<id>``; None when unknown."""
    from server.tenants.service import SLUG_RE
    from server.zendesk.models import ZendeskConnection

    conn = session.get(ZendeskConnection, tenant_id)
    tenant = session.get(Tenant, tenant_id)
    subdomain = (conn.subdomain if conn is not None else None) or (tenant.zendesk_subdomain if tenant else None)
    return f"https://{subdomain}.zendesk.com" if subdomain and SLUG_RE.fullmatch(subdomain) else None


def incident_pages(incident: Incident) -> set[str]:
    """The product pages an incident names: a friction incident's page, or a page where far more of a
    ticket incident's requesters met friction before writing than the page's usual share
    (``evidence.pages[].associated``; the engine's ``PAGE_ALPHA``). Evidence written before that flag
    existed names a page holding at least two of its customers and a third of them."""
    ev = incident.evidence if isinstance(incident.evidence, dict) else {}
    if incident.kind == "friction":
        return {ev["path"]} if isinstance(ev.get("path"), str) else set()
    pages = ev.get("pages")
    if not isinstance(pages, list):
        return set()
    customers = ev.get("requesters") if isinstance(ev.get("requesters"), int) else 0
    named = set()
    for p in pages:
        if not isinstance(p, dict) or not isinstance(p.get("path"), str):
            continue
        users = p.get("users") if isinstance(p.get("users"), int) else 0
        if p.get("associated") is True or ("associated" not in p and users >= 2 and 3 * users >= customers):
            named.add(p["path"])
    return named


def related(session: Session, tenant_id: int, incident: Incident, now: datetime) -> list[dict[str, Any]]:
    """Other incidents at about the same time (within a day of this one's span) that are the same problem
    seen another way: naming one of its pages (the page's own failures, a friction incident, and the
    tickets they caused, a ticket incident whose requesters met friction there), or holding at least
    ``RELATED_SHARED_TICKETS`` of its tickets (an organization's change of tone and the concentrated rise
    its tickets make). Newest detected first."""
    pages = incident_pages(incident)
    begin = as_utc(incident.first_seen_at) - RELATED_WITHIN
    end = (_utc(incident.resolved_at) or now.astimezone(timezone.utc)) + RELATED_WITHIN
    mine = select(IncidentTicket.zendesk_id).where(IncidentTicket.tenant_id == tenant_id,
                                                   IncidentTicket.incident_id == incident.id)
    near = [Incident.tenant_id == tenant_id, Incident.id != incident.id, Incident.last_activity_at >= begin,
            Incident.first_seen_at <= end]
    overlap = dict(session.execute(
        select(IncidentTicket.incident_id, func.count())
        .join(Incident, and_(Incident.tenant_id == IncidentTicket.tenant_id, Incident.id == IncidentTicket.incident_id))
        .where(IncidentTicket.tenant_id == tenant_id, IncidentTicket.zendesk_id.in_(mine), *near)
        .group_by(IncidentTicket.incident_id).having(func.count() >= RELATED_SHARED_TICKETS)
        .order_by(func.count().desc()).limit(RELATED_CANDIDATES)).all())
    if not pages and not overlap:
        return []
    # incidents merged into this one (or it into them) share its tickets by the merge, and are said as merged
    ev = incident.evidence if isinstance(incident.evidence, dict) else {}
    merged = set(ev.get("merged_incidents") or [])
    if ev.get("merged_into_incident"):
        merged.add(ev["merged_into_incident"])
    q = select(Incident).where(*near)
    if not pages:  # only the incidents sharing its tickets can be related
        q = q.where(Incident.id.in_(list(overlap)))
    rows = session.scalars(q.order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(RELATED_CANDIDATES))
    linked = [(other, pages & incident_pages(other), overlap.get(other.id, 0)) for other in rows
              if other.id not in merged and (other.evidence or {}).get("merged_into_incident") != incident.id]
    linked = [(other, shared, tickets) for other, shared, tickets in linked if shared or tickets][:MAX_RELATED]
    labels = topic_labels(session, tenant_id, (other.topic_id for other, _, _ in linked))
    return [{"id": other.id, "kind": other.kind, "status": other.status,
             "title": _named_now(other, labels.get(other.topic_id))[0],
             "pages": sorted(shared), "shared_tickets": tickets} for other, shared, tickets in linked]


def active_for_ticket(session: Session, tenant_id: int, zendesk_id: str,
                      topic_ids: Iterable[int | None]) -> list[dict[str, Any]]:
    """Open or acknowledged incidents the ticket is attached to or whose topic is the ticket's, newest first."""
    attached = select(IncidentTicket.incident_id).where(IncidentTicket.tenant_id == tenant_id,
                                                        IncidentTicket.zendesk_id == zendesk_id)
    match = Incident.id.in_(attached)
    topics = {t for t in topic_ids if t is not None}
    if topics:
        match = or_(match, Incident.topic_id.in_(topics))
    mine = exists().where(IncidentTicket.tenant_id == tenant_id, IncidentTicket.incident_id == Incident.id,
                          IncidentTicket.zendesk_id == zendesk_id)
    # One query: the incidents, their topic's name or label, and whether the ticket is attached.
    rows = session.execute(
        select(Incident, Topic.name, Topic.label, mine.label("attached"))
        .outerjoin(Topic, and_(Topic.tenant_id == Incident.tenant_id, Topic.id == Incident.topic_id))
        .where(Incident.tenant_id == tenant_id, Incident.status.in_(ACTIVE), match)
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(20)).all()
    out = []
    for r, name, label, is_attached in rows:
        headline, sentence = _named_now(r, name or label)  # both None without a topic
        out.append({"id": r.id, "kind": r.kind, "status": r.status, "title": headline, "sentence": sentence,
                    "llm_summary": r.llm_summary,
                    "first_seen_at": as_utc(r.first_seen_at), "detected_at": as_utc(r.detected_at),
                    "ticket_count": r.ticket_count, "requester_count": r.requester_count,
                    "account_count": r.account_count,
                    "topic": None if r.topic_id is None else topic_ref(r.topic_id, name, label),
                    "series": r.series, "attached": bool(is_attached), "evidence": r.evidence or {}})
    return out


def recent_volume(session: Session, tenant_id: int, series: Iterable[str], hours: int,
                  now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The last ``hours`` closed hours of each series (one query), oldest first, as `volume` shapes them."""
    names = sorted(set(series))
    if not names:
        return {}
    start = now.astimezone(timezone.utc) - timedelta(hours=hours)
    rows = session.execute(select(
        VolumePoint.series, VolumePoint.bucket_start, VolumePoint.tickets, VolumePoint.requesters,
        VolumePoint.expected, VolumePoint.lower, VolumePoint.upper).where(
        VolumePoint.tenant_id == tenant_id, VolumePoint.series.in_(names), VolumePoint.bucket_start >= start)
        .order_by(VolumePoint.series, VolumePoint.bucket_start))  # columns, not entities: no ORM bookkeeping
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for series, bucket, tickets, requesters, expected, lower, upper in rows:
        out[series].append({"start": as_utc(bucket), "tickets": tickets, "requesters": requesters,
                            "expected": expected, "lower": lower, "upper": upper, "partial": False})
    return out
