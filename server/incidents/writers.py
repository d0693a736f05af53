"""How the detector writes the detection stage's outputs. Every write is idempotent: a replay after a
crash rewrites the same rows.

Status is shared with people: the API writes a person's change at once and appends a control event;
the detector mirrors it when it reads that event. So the writer sets ``status`` when it creates an
incident, when the detector resolves one by itself (only if the row is still active: a person's
later decision is not undone), when it mirrors a person's change (the same value the API wrote), and
when it reopens an incident whose resolve it has read (a friction incident still failing after a person
resolved it: its ``evidence.reopened`` names the resolve it follows, as the row holds it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from server.db import get_or_add
from server.eventlog.log import as_utc
from server.incidents.models import ACTIVE, Incident, IncidentTicket, VolumePoint
from server.notify import enqueue
from server.zendesk.worker import queue_auto_link

_DETECTOR_FIELDS = ("kind", "series", "topic_id", "title", "sentence", "direction", "first_seen_at", "detected_at",
                    "last_activity_at", "ticket_count", "requester_count", "account_count", "p_value", "surprise",
                    "evidence")
_STATUS_FIELDS = ("status", "status_by", "status_changed_at", "resolved_at")


def write_incident(session: Session, key: tuple[int, int], row: dict[str, Any], now: datetime) -> None:
    tenant_id, incident_id = key
    incident = session.get(Incident, key)
    new = incident is None
    if incident is None:
        incident = Incident(tenant_id=tenant_id, id=incident_id, useful_count=row["useful_count"],
                            noise_count=row["noise_count"])
        session.add(incident)
    takes_status = (new
                    or row["status_by"] != "detector"  # a person's change, mirrored
                    or (row["status"] == "resolved" and incident.status in ACTIVE)  # resolved by the detector
                    or (incident.status_by == "detector" and incident.status != row["status"])  # a replay
                    or _reopens(row, incident))
    for name in _DETECTOR_FIELDS + (_STATUS_FIELDS if takes_status else ()):
        setattr(incident, name, row[name])
    incident.updated_at = now


def _reopens(row: dict[str, Any], incident: Incident) -> bool:
    """Whether the detector reopens the very resolve the row holds: it read that change (a stale state,
    written before the detector read a person's later resolve, names an earlier one or none)."""
    after = (row.get("evidence") or {}).get("reopened")
    if row["status"] not in ACTIVE or incident.status != "resolved" or not isinstance(after, dict):
        return False
    try:
        resolved_at = datetime.fromisoformat(str(after.get("resolved_at")))
    except ValueError:
        return False
    return (after.get("resolved_by") == incident.status_by and incident.status_changed_at is not None
            and abs((as_utc(resolved_at) - as_utc(incident.status_changed_at)).total_seconds()) < 0.001)


def write_incident_ticket(session: Session, key: tuple[int, int, str], row: dict[str, Any], now: datetime) -> None:
    tenant_id, incident_id, zendesk_id = key
    new = session.get(IncidentTicket, key) is None
    link = get_or_add(session, IncidentTicket, key, tenant_id=tenant_id, incident_id=incident_id, zendesk_id=zendesk_id)
    link.attached_at = row["attached_at"]
    if new:  # a ticket joining an incident with a problem ticket may be linked to it (the Zendesk worker's outbox)
        queue_auto_link(session, tenant_id, incident_id, zendesk_id, now)


def write_incident_ticket_detached(session: Session, key: tuple[int, int, str], row: dict[str, Any],
                                   now: datetime) -> None:
    """A ticket leaves an incident (an undone merge gave it back to the incident it came with)."""
    link = session.get(IncidentTicket, key)
    if link is not None:
        session.delete(link)


def write_volume_point(session: Session, key: tuple[int, str, float], row: dict[str, Any], now: datetime) -> None:
    tenant_id, series, start = key
    bucket = datetime.fromtimestamp(start, tz=timezone.utc)
    point = get_or_add(session, VolumePoint, (tenant_id, series, bucket), tenant_id=tenant_id, series=series,
                       bucket_start=bucket)
    for name, value in row.items():
        setattr(point, name, value)


def write_notification(session: Session, key: tuple[int, int, int], row: dict[str, Any], now: datetime) -> None:
    """The outbox row for one notification. ``seq`` is the incident's notification count, so a replay
    finds the row already there and leaves it (sent or not) alone."""
    tenant_id, incident_id, seq = key
    enqueue(session, tenant_id, incident_id, row["event"], row["payload"], now, generation=seq)
