"""Queries behind the topic and ticket-context endpoints. Every query is scoped by tenant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.eventlog.log import as_utc
from server.incidents.service import active_for_ticket, recent_volume, with_hour_so_far
from server.topics.models import Ticket, Topic
from server.widget.service import ticket_sessions
from server.zendesk.problems import problem_ticket_ids

MAX_MERGE_HOPS = 100
MAX_TOPIC_ID = 2**31 - 1
#: Hours of each incident's series in a ticket's context (the sidebar's chart).
CONTEXT_VOLUME_HOURS = 48
#: How long before an incident was first seen a ticket of its topic may have been written and still be shown
#: that incident (one it is not attached to): the detector's longest test window (6 h, of the spike and
#: sentiment tests; server.incidents.state SPIKE_WINDOWS and SENTIMENT_WINDOW), or the incident's own window
#: when that is longer. An early report of the rise, written inside the window that found it, still shows it;
#: a ticket written days before, which only shares the topic, does not.
TOPIC_LEAD = timedelta(hours=6)


def resolve(session: Session, tenant_id: int, topic_id: int) -> tuple[Topic, int | None]:
    """The topic that holds ``topic_id``'s tickets now, and the id asked for if it was merged."""
    if not 0 < topic_id <= MAX_TOPIC_ID:
        raise NotFound(f"No topic {topic_id}.")
    topic = session.get(Topic, (tenant_id, topic_id))
    if topic is None:
        raise NotFound(f"No topic {topic_id}.")
    hops = 0
    while topic.merged_into is not None and hops < MAX_MERGE_HOPS:
        successor = session.get(Topic, (tenant_id, topic.merged_into))
        if successor is None:
            break
        topic, hops = successor, hops + 1
    return topic, (topic_id if topic.id != topic_id else None)


def topic_view(topic: Topic) -> dict[str, Any]:
    return {
        "id": topic.id, "label": topic.label, "name": topic.name, "display_name": topic.name or topic.label,
        "keywords": topic.keywords, "summary": topic.summary, "llm_summary": topic.llm_summary,
        "size": topic.size, "first_seen_at": as_utc(topic.first_seen_at), "last_seen_at": as_utc(topic.last_seen_at),
        "merged_into": topic.merged_into,
    }


def list_topics(session: Session, tenant_id: int, *, limit: int, offset: int, sort: str,
                include_merged: bool, volume_hours: int = 0, now: datetime | None = None) -> dict[str, Any]:
    q = select(Topic).where(Topic.tenant_id == tenant_id)
    if not include_merged:
        q = q.where(Topic.merged_into.is_(None))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    order = (Topic.last_seen_at.desc(), Topic.id.desc()) if sort == "recent" else (Topic.size.desc(), Topic.id)
    rows = session.scalars(q.order_by(*order).limit(limit).offset(offset)).all()
    topics = [topic_view(t) for t in rows]
    if volume_hours and now is not None:
        for view in topics:
            view["volume"] = volume(session, tenant_id, view["id"], volume_hours, now)
    return {"topics": topics, "total": total}


def volume(session: Session, tenant_id: int, topic_id: int, hours: int, end: datetime) -> list[dict[str, Any]]:
    end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    times = session.scalars(select(Ticket.created_at).where(
        Ticket.tenant_id == tenant_id, Ticket.topic_id == topic_id, Ticket.created_at >= start,
        Ticket.created_at < end))
    counts = [0] * hours
    for t in times:
        index = int((as_utc(t) - start).total_seconds() // 3600)
        if 0 <= index < hours:
            counts[index] += 1
    return [{"start": start + timedelta(hours=i), "count": c} for i, c in enumerate(counts)]


def topic_detail(session: Session, tenant_id: int, topic_id: int, *, hours: int, now: datetime) -> dict[str, Any]:
    topic, redirected = resolve(session, tenant_id, topic_id)
    end = max(now, as_utc(topic.last_seen_at))
    return {**topic_view(topic), "representatives": topic.representatives, "redirected_from": redirected,
            "volume": volume(session, tenant_id, topic.id, hours, end)}


def rename(session: Session, tenant_id: int, topic_id: int, name: str | None, *, now: datetime) -> dict[str, Any]:
    topic, _ = resolve(session, tenant_id, topic_id)
    topic.name = name.strip() if name else None
    session.commit()
    return topic_detail(session, tenant_id, topic.id, hours=48, now=now)


def banner_incident(incidents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The known-issue banner's incident among a ticket's active ones (newest first): of those the ticket is
    attached to, a rise in what customers write about (spike, new topic, concentration, friction) before a
    change of tone, then the one with the most customers. None when the ticket is attached to none: an
    incident that only shares its topic is not a known issue of this ticket (the sidebar says how they relate).

    >>> banner_incident([{"id": 3, "kind": "sentiment", "attached": True, "requester_count": 40},
    ...                  {"id": 2, "kind": "concentration", "attached": True, "requester_count": 9},
    ...                  {"id": 1, "kind": "spike", "attached": False, "requester_count": 90}])["id"]
    2
    >>> banner_incident([{"id": 1, "kind": "spike", "attached": False, "requester_count": 90}]) is None
    True
    """
    attached = [i for i in incidents if i["attached"]]
    if not attached:
        return None
    return min(attached, key=lambda i: (i["kind"] == "sentiment", -(i.get("requester_count") or 0)))


def _lead(incident: dict[str, Any]) -> timedelta:
    """TOPIC_LEAD, or the incident's own test window (its evidence's ``window_minutes``) when longer."""
    minutes = (incident.get("evidence") or {}).get("window_minutes")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 < minutes < 60 * 24 * 366:
        return max(TOPIC_LEAD, timedelta(minutes=minutes))
    return TOPIC_LEAD


def predates(created_at: datetime | None, incident: dict[str, Any]) -> bool:
    """Whether a ticket written at ``created_at`` came well before ``incident`` began: more than its lead
    (TOPIC_LEAD or its own window) before its first_seen_at. A ticket with no creation time never does.

    >>> from datetime import timezone
    >>> began = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
    >>> inc = {"first_seen_at": began, "evidence": {"window_minutes": 120}}
    >>> predates(began - timedelta(days=15), inc), predates(began - timedelta(hours=5), inc)
    (True, False)
    >>> predates(began - timedelta(hours=9), {"first_seen_at": began, "evidence": {"window_minutes": 720}})
    False
    """
    first_seen = incident.get("first_seen_at")
    if created_at is None or first_seen is None:
        return False
    return as_utc(created_at) < as_utc(first_seen) - _lead(incident)


def ticket_context(session: Session, tenant_id: int, zendesk_id: str, *, now: datetime) -> dict[str, Any]:
    ticket = session.get(Ticket, (tenant_id, zendesk_id))
    if ticket is None:
        raise NotFound(f"Groundswell has not seen ticket {zendesk_id} yet.")
    topic = None
    if ticket.topic_id is not None:
        try:
            topic = topic_detail(session, tenant_id, ticket.topic_id, hours=48, now=now)
        except NotFound:
            topic = None
    view = {c: getattr(ticket, c) for c in ("zendesk_id", "subject", "excerpt", "status", "priority", "channel",
                                            "organization_id", "tags", "topic_id", "topic_similarity")}
    view["created_at"] = as_utc(ticket.created_at) if ticket.created_at else None
    if topic is not None:
        view["topic_id"] = topic["id"]
    incidents = active_for_ticket(session, tenant_id, zendesk_id, {ticket.topic_id, view["topic_id"]})
    # An incident the ticket is not one of, met only through its topic, is left out when the ticket was
    # written well before it began: a months-old question about invoices is not part of today's invoice spike.
    incidents = [i for i in incidents if i["attached"] or not predates(ticket.created_at, i)]
    problems = problem_ticket_ids(session, tenant_id, [i["id"] for i in incidents])
    volumes = recent_volume(session, tenant_id, [i["series"] for i in incidents], CONTEXT_VOLUME_HOURS, now)
    for incident in incidents:
        incident["problem_ticket_id"] = problems.get(incident["id"])
        incident["volume"] = with_hour_so_far(volumes.get(incident["series"], []), incident["evidence"])
    banner = None
    first = banner_incident(incidents)
    if first is not None:
        banner = {"incident_id": first["id"], "title": first["title"], "sentence": first["sentence"]}
        # The banner's incident leads the list (then the rest, newest first), so that the card under the
        # banner, and the buttons on it, are the incident the banner names.
        incidents.sort(key=lambda i: i["id"] != first["id"])
    return {"ticket": view, "topic": topic, "incidents": incidents, "banner": banner,
            "in_app": ticket_sessions(session, tenant_id, zendesk_id)}


