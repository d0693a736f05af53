"""People's changes to incidents (status, feedback, merges) and to the detection settings.

Each change is written together with a ``control`` event in the event log, in one transaction: the detector
reads those events in log order and so learns the change at the same point on every replay. The functions
take the session, the log and the clock as arguments; none reads request globals.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from server.errors import BadRequest, Conflict, NotFound
from server.eventlog import EventLog, NewEvent
from server.incidents.models import ACTIVE, Feedback, Incident
from server.incidents.service import get_incident, incident_detail
from server.incidents.settings import DetectionSettings, apply_changes
from server.tenants import Tenant

#: Allowed status changes (a change to the same status is a no-op, not listed).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "resolved", "dismissed"}),
    "acknowledged": frozenset({"resolved", "dismissed", "open"}),
    "resolved": frozenset({"open"}),
    "dismissed": frozenset({"open"}),
}

def control_event(kind: str, payload: dict[str, Any], now: datetime) -> NewEvent:
    return NewEvent(source="control", kind=kind, idempotency_key=uuid.uuid4().hex,
                    event_time=now.astimezone(timezone.utc), payload=payload)


def append_event(session: Session, log: EventLog, tenant_id: int, event: NewEvent, now: datetime) -> None:
    log.append(session, tenant_id, [event], now.astimezone(timezone.utc))


def add_feedback(session: Session, log: EventLog, tenant_id: int, incident_id: int, *, verdict: str, by: str,
                 note: str | None = None, now: datetime, view: bool = True) -> dict[str, Any]:
    """Record a person's verdict; the incident's detail after it (``view=False``: an empty dict, for
    callers that answer elsewhere, such as Slack's buttons).

    One verdict per person (``by``) and incident: the same verdict again only updates its note (when one
    is given), and a different one replaces theirs (the counts move from one to the other), so that one
    person clicking Noise three times does not raise the bar three steps."""
    incident = get_incident(session, tenant_id, incident_id, lock=True)
    mine = session.scalars(select(Feedback).where(
        Feedback.tenant_id == tenant_id, Feedback.incident_id == incident.id, Feedback.by == by)
        .order_by(Feedback.id.desc()).limit(1)).first()
    if mine is not None and mine.verdict == verdict:
        if note and note != mine.note:
            mine.note = note
        session.commit()
        return incident_detail(session, tenant_id, incident.id, now=now) if view else {}
    changes: dict[Any, Any] = {}
    column = Incident.useful_count if verdict == "useful" else Incident.noise_count
    changes[column] = func.coalesce(column, 0) + 1
    event = {"incident_id": incident.id, "verdict": verdict, "by": by}
    if mine is not None:  # they change their mind: their earlier verdict no longer counts
        event["was"] = mine.verdict  # the detector takes its step back even if it never saw it by name
        earlier = Incident.useful_count if mine.verdict == "useful" else Incident.noise_count
        changes[earlier] = case((func.coalesce(earlier, 0) > 0, func.coalesce(earlier, 0) - 1), else_=0)
        mine.verdict, mine.note, mine.created_at = verdict, note, now
    else:
        session.add(Feedback(tenant_id=tenant_id, incident_id=incident.id, verdict=verdict, by=by, note=note,
                             created_at=now))
    # Counted in SQL, not read-modify-write: two people voting at once both count.
    session.execute(update(Incident).where(Incident.tenant_id == tenant_id, Incident.id == incident.id)
                    .values(changes).execution_options(synchronize_session=False))
    append_event(session, log, tenant_id, control_event("control.feedback", event, now), now)
    session.commit()
    return incident_detail(session, tenant_id, incident.id, now=now) if view else {}


def set_status(session: Session, log: EventLog, tenant_id: int, incident_id: int, *, status: str, by: str,
               now: datetime, view: bool = True) -> dict[str, Any]:
    """Change the incident's status as a person; its detail after it (``view=False``: an empty dict)."""
    incident = get_incident(session, tenant_id, incident_id, lock=True)
    before = incident.status
    if status == before:
        session.rollback()
        return incident_detail(session, tenant_id, incident_id, now=now) if view else {}
    if status not in TRANSITIONS.get(before, frozenset()):
        session.rollback()
        raise Conflict(f"An incident cannot go from {before} to {status}.",
                       fields={"status": [f"not allowed from {before}"], "from": before, "to": status})
    into = (incident.evidence or {}).get("merged_into_incident")
    if into is not None and status in ACTIVE:  # its tickets and series went to the other one
        session.rollback()
        raise Conflict(f"Incident {incident.id} was merged into incident {into}: that one carries the problem now.",
                       fields={"status": [f"merged into incident {into}"], "from": before, "to": status})
    incident.status, incident.status_by = status, by
    incident.status_changed_at = incident.updated_at = now
    if status == "resolved":
        incident.resolved_at = now
    elif before == "resolved":
        incident.resolved_at = None
    append_event(session, log, tenant_id, control_event(
        "control.status", {"incident_id": incident.id, "status": status, "by": by}, now), now)
    session.commit()
    return incident_detail(session, tenant_id, incident_id, now=now) if view else {}


def merge(session: Session, log: EventLog, tenant_id: int, incident_id: int, *, into: int, by: str,
          now: datetime) -> dict[str, Any]:
    """Incident ``incident_id`` is the same problem as ``into``: it is resolved at once, saying so, and
    the detector moves its tickets to ``into`` (and what would join it from now on) when it reads the
    ``control.merge`` event. Returns ``into``'s detail."""
    from server.incidents.state import FAMILY

    if into == incident_id:
        raise BadRequest("An incident cannot be merged into itself.", fields={"into": ["another incident's id"]})
    first, second = sorted((incident_id, into))  # lock in id order: two opposite merges cannot deadlock
    rows = {first: get_incident(session, tenant_id, first, lock=True), second: get_incident(session, tenant_id, second, lock=True)}
    gone, keep = rows[incident_id], rows[into]
    for inc in (gone, keep):
        if inc.status not in ACTIVE:
            session.rollback()
            raise Conflict(f"Incident {inc.id} is {inc.status}: only open or acknowledged incidents merge.",
                           fields={"status": [f"incident {inc.id} is {inc.status}"]})
        if inc.kind not in FAMILY:
            session.rollback()
            raise Conflict(f"Incident {inc.id} is in-app friction: it stays beside ticket incidents as related.",
                           fields={"kind": [f"incident {inc.id} is {inc.kind}"]})
    if FAMILY[gone.kind] != FAMILY[keep.kind]:
        session.rollback()
        raise Conflict(f"A {gone.kind} incident and a {keep.kind} incident measure different things and do not merge.",
                       fields={"kind": [f"{gone.kind} and {keep.kind}"]})
    before = gone.status
    gone.status, gone.status_by = "resolved", by
    gone.status_changed_at = gone.updated_at = gone.resolved_at = now
    gone.evidence = {**(gone.evidence or {}), "merged_into_incident": keep.id, "status_before_merge": before}
    merged = sorted(set((keep.evidence or {}).get("merged_incidents", [])) | {gone.id})
    keep.evidence = {**(keep.evidence or {}), "merged_incidents": merged}
    keep.updated_at = now
    append_event(session, log, tenant_id, control_event(
        "control.merge", {"incident_id": gone.id, "into": keep.id, "by": by}, now), now)
    session.commit()
    return incident_detail(session, tenant_id, keep.id, now=now)


def unmerge(session: Session, log: EventLog, tenant_id: int, incident_id: int, *, by: str,
            now: datetime) -> dict[str, Any]:
    """Undo a person's merge of ``incident_id`` into another: it is active again, in the status it had
    before the merge, and the detector gives it back its tickets, customers, accounts and pages (those
    that joined through its topic while it was merged too) when it reads the ``control.unmerge`` event.
    Returns ``incident_id``'s detail."""
    gone = get_incident(session, tenant_id, incident_id)
    into = (gone.evidence or {}).get("merged_into_incident")
    if not isinstance(into, int) or isinstance(into, bool):
        session.rollback()
        raise Conflict(f"Incident {incident_id} was not merged into another.",
                       fields={"incident": [f"incident {incident_id} is not merged"]})
    first, second = sorted((incident_id, into))  # lock in id order, as a merge does
    rows = {first: get_incident(session, tenant_id, first, lock=True), second: get_incident(session, tenant_id, second, lock=True)}
    gone, keep = rows[incident_id], rows[into]
    if (gone.evidence or {}).get("merged_into_incident") != into:  # undone meanwhile
        session.rollback()
        raise Conflict(f"Incident {incident_id} was not merged into another.",
                       fields={"incident": [f"incident {incident_id} is not merged"]})
    if gone.status_by == "detector":
        session.rollback()
        raise Conflict(f"Incident {incident_id} joined incident {into} when the detector found their topics to be "
                       "one: only a person's merge is undone.",
                       fields={"incident": [f"incident {incident_id} was joined by the detector"]})
    if keep.status not in ACTIVE:
        session.rollback()
        raise Conflict(f"Incident {into} is {keep.status}: a merge is undone while the incident it went into is "
                       "open or acknowledged.", fields={"into": [f"incident {into} is {keep.status}"]})
    before = (gone.evidence or {}).get("status_before_merge")
    status = before if before in ACTIVE else "open"
    gone.status, gone.status_by = status, by
    gone.status_changed_at = gone.updated_at = now
    gone.resolved_at = None
    gone.evidence = {k: v for k, v in (gone.evidence or {}).items()
                     if k not in ("merged_into_incident", "status_before_merge")}
    kept = [i for i in (keep.evidence or {}).get("merged_incidents", []) if i != gone.id]
    keep.evidence = {**{k: v for k, v in (keep.evidence or {}).items() if k != "merged_incidents"},
                     **({"merged_incidents": kept} if kept else {})}
    keep.updated_at = now
    append_event(session, log, tenant_id, control_event(
        "control.unmerge", {"incident_id": gone.id, "into": keep.id, "status": status, "by": by}, now), now)
    session.commit()
    return incident_detail(session, tenant_id, gone.id, now=now)


def detection_settings(tenant: Tenant) -> DetectionSettings:
    return DetectionSettings.from_dict((tenant.settings or {}).get("detection"))


def update_detection_settings(session: Session, log: EventLog, tenant_id: int, changes: Mapping[str, Any], *,
                              now: datetime) -> dict[str, Any]:
    """Merge ``changes`` (validated) into the stored settings: ``sensitivity`` key by key, the rest replaced."""
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    if tenant is None:  # pragma: no cover - the token named this tenant
        raise NotFound("No such tenant.")
    stored = apply_changes((tenant.settings or {}).get("detection"), changes)
    tenant.settings = {**(tenant.settings or {}), "detection": stored}  # a new dict: JSON columns track assignment
    effective = DetectionSettings.from_dict(stored).to_dict()
    append_event(session, log, tenant_id, control_event("control.settings", {"detection": effective}, now), now)
    session.commit()
    return effective
