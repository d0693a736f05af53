"""Rows of the detection tables, inserted directly (the detector is not run in these tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from server.eventlog import Event
from server.incidents.models import Incident, IncidentTicket, VolumePoint

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}"}


def add_incident(db: Any, tenant_id: int, incident_id: int, *, tickets: list[str] | None = None,
                 **overrides: Any) -> None:
    """One incident (a spike of topic 1 by default), detected ``incident_id`` hours after T0."""
    detected = overrides.pop("detected_at", T0 + timedelta(hours=incident_id))
    row: dict[str, Any] = dict(
        tenant_id=tenant_id, id=incident_id, kind="spike", status="open", status_by="detector",
        status_changed_at=detected, series="topic:1", topic_id=1, title=f"Spike #{incident_id}",
        sentence="17 tickets in 2 h where 3 were expected.", direction="up",
        first_seen_at=detected - timedelta(hours=1), detected_at=detected, last_activity_at=detected,
        resolved_at=None, ticket_count=len(tickets or []), requester_count=5, account_count=4, p_value=1e-6,
        surprise=6.0, evidence={"observed": 17, "expected": 3.2, "band": [1, 7]}, useful_count=0, noise_count=0,
        updated_at=detected)
    row.update(overrides)
    with db.session() as s:
        s.add(Incident(**row))
        for i, zid in enumerate(tickets or []):
            s.add(IncidentTicket(tenant_id=tenant_id, incident_id=incident_id, zendesk_id=zid,
                                 attached_at=detected + timedelta(minutes=i)))
        s.commit()


def add_volume(db: Any, tenant_id: int, series: str, start: datetime, hours: int) -> None:
    with db.session() as s:
        for h in range(hours):
            s.add(VolumePoint(tenant_id=tenant_id, series=series, bucket_start=start + timedelta(hours=h),
                              tickets=h % 5, requesters=h % 4, expected=2.0, lower=0.0, upper=5.5))
        s.commit()


def control_events(db: Any, tenant_id: int) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).where(Event.tenant_id == tenant_id, Event.source == "control")
                              .order_by(Event.offset)))
