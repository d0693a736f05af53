from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.eventlog import SqlEventLog
from server.pipeline.models import DetectorCheckpoint
from server.pipeline.runner import partition_name


def detector_progress(session: Session, log: SqlEventLog, now: datetime) -> dict[str, Any]:
    """Log head, each partition's checkpoint, and the age of the oldest event no partition has processed."""
    head = log.head(session)
    checkpoints = {cp.partition: cp.offset for cp in session.scalars(select(DetectorCheckpoint))}
    oldest: datetime | None = None
    parts = _parse(checkpoints) or {(0, 1): 0}
    for (index, count), offset in parts.items():
        first = log.read(session, offset, 1, partition=(index, count))
        if first and (oldest is None or first[0].received_at < oldest):
            oldest = first[0].received_at
    lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return {"head": head, "checkpoints": checkpoints, "lag_seconds": round(lag, 3)}


def notification_backlog(session: Session, now: datetime) -> dict[str, dict[str, float]]:
    """Per target (``slack``, ``webhook``): messages waiting to be sent or retried, and the age in seconds of
    the oldest of them (0 with none)."""
    from sqlalchemy import func

    from server.eventlog.log import as_utc
    from server.incidents.models import Notification
    from server.notify.models import WebhookDelivery

    out = {}
    for target, model in (("slack", Notification), ("webhook", WebhookDelivery)):
        count, oldest = session.execute(select(func.count(), func.min(model.created_at))
                                        .where(model.sent_at.is_(None))).one()
        age = max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest is not None else 0.0
        out[target] = {"pending": int(count or 0), "oldest_seconds": round(age, 3)}
    return out


def _parse(checkpoints: dict[str, int]) -> dict[tuple[int, int], int]:
    out = {}
    for name, offset in checkpoints.items():
        try:
            index, count = (int(x) for x in name[1:].split("of"))
        except ValueError:
            continue
        if partition_name((index, count)) == name:
            out[(index, count)] = offset
    return out


def database_ok(session: Session) -> bool:
    session.execute(text("SELECT 1"))
    return True
