"""Releases: ``POST /api/v1/releases`` records a deploy, so that incidents that follow it say so."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.errors import BadRequest
from server.eventlog import EventLog
from server.eventlog.log import as_utc
from server.incidents.actions import append_event, control_event
from server.incidents.models import Release

#: How far ahead a release's deploy time may lie (clock skew, a deploy being scheduled).
MAX_RELEASE_AHEAD = timedelta(days=1)


def release_view(r: Release) -> dict[str, Any]:
    return {"version": r.version, "deployed_at": as_utc(r.deployed_at), "description": r.description, "url": r.url,
            "recorded_at": as_utc(r.recorded_at)}


def record_release(session: Session, log: EventLog, tenant_id: int, *, version: str, now: datetime,
                   **fields: Any) -> tuple[dict[str, Any], bool]:
    """Create the release, or update the one with this version; returns (release, created).

    On an update, fields left out keep their stored values; on a create ``deployed_at`` defaults to now.
    """
    deployed_at = fields.get("deployed_at")
    if deployed_at is not None:
        deployed_at = deployed_at.astimezone(timezone.utc)
        if deployed_at > now + MAX_RELEASE_AHEAD:
            raise BadRequest("The deploy time lies more than a day ahead.",
                             fields={"deployed_at": ["at most one day in the future"]})
        fields["deployed_at"] = deployed_at
    for attempt in (1, 2):
        release = session.scalar(select(Release).where(Release.tenant_id == tenant_id, Release.version == version)
                                 .with_for_update())
        created = release is None
        if release is None:
            release = Release(tenant_id=tenant_id, version=version, deployed_at=now, description=None, url=None)
            session.add(release)
        for name in ("deployed_at", "description", "url"):
            if name in fields:
                setattr(release, name, fields[name])
        release.recorded_at = now
        try:
            session.flush()
        except IntegrityError:  # the same version created concurrently: update that one instead
            session.rollback()
            if attempt == 2:
                raise
            continue
        break
    view = release_view(release)
    append_event(session, log, tenant_id, control_event("control.release", {
        "version": version, "deployed_at": view["deployed_at"].isoformat(), "description": release.description},
        now), now)
    session.commit()
    return view, created


def list_releases(session: Session, tenant_id: int, *, limit: int, offset: int) -> dict[str, Any]:
    q = select(Release).where(Release.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(Release.deployed_at.desc(), Release.version.desc()).limit(limit).offset(offset))
    return {"releases": [release_view(r) for r in rows], "total": total}
