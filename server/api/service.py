from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.eventlog import Event, SqlEventLog
from server.eventlog.log import as_utc
from server.pipeline.models import DeadLetter, IngestStat
from server.pipeline.stats import rate_per_minute
from server.tenants import Tenant


#: Most events waiting for the detector that are counted by source (each is read from its row; a long import's
#: backlog is given as a total alone, counted from the index, so that polling the status stays cheap).
MAX_SPLIT_PENDING = 100_000


def tenant_status(session: Session, log: SqlEventLog, tenant: Tenant, now: datetime) -> dict[str, Any]:
    """Ingest statistics and detector progress for one tenant."""
    stats = session.scalars(select(IngestStat).where(IngestStat.tenant_id == tenant.id)
                            .order_by(IngestStat.source)).all()
    current = int(now.timestamp() // 60)
    sources = []
    for st in stats:
        sources.append({
            "source": st.source,
            "total": st.total,
            "events_per_minute": {
                "last_1m": rate_per_minute(st.minutes, now, 1),
                "last_5m": rate_per_minute(st.minutes, now, 5),
                "last_60m": rate_per_minute(st.minutes, now, 60),
            },
            "series": [
                {"minute": datetime.fromtimestamp(m * 60, tz=timezone.utc), "count": st.minutes.get(str(m), 0)}
                for m in range(current - 59, current + 1)
            ],
            "kinds": st.kinds,
            "first_received_at": _opt(st.first_received_at),
            "last_received_at": _opt(st.last_received_at),
            "last_event_time": _opt(st.last_event_time),
        })
    processed = max((st.last_offset for st in stats), default=0)
    head = log.head(session, tenant.id)
    pending, lag, by_source = 0, 0.0, dict[str, int]()
    if head > processed:
        # Offsets are shared by every tenant, so at most head - processed of this tenant's events wait: when
        # that is few enough, one query counts them by source and their total is the sum; else they are
        # counted from the index first, and split only when few enough do wait.
        pending = head - processed if head - processed <= MAX_SPLIT_PENDING else log.count(session, tenant.id,
                                                                                            after=processed)
        if pending <= MAX_SPLIT_PENDING:
            by_source = {str(k): int(v) for k, v in session.execute(
                select(Event.source, func.count()).where(Event.tenant_id == tenant.id, Event.offset > processed)
                .group_by(Event.source).order_by(Event.source)).all()}
            pending = sum(by_source.values())
    if pending:
        oldest = session.scalar(select(Event.received_at).where(Event.tenant_id == tenant.id, Event.offset > processed)
                                .order_by(Event.offset).limit(1))
        lag = max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0
    skipped, last_skipped = session.execute(select(func.count(), func.max(DeadLetter.created_at))
                                            .where(DeadLetter.tenant_id == tenant.id)).one()
    return {
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "generated_at": now,
        "sources": sources,
        "detector": {"processed_offset": processed, "head_offset": head, "pending_events": pending,
                     "pending_by_source": by_source,
                     "lag_seconds": round(lag, 3), "skipped_events": int(skipped or 0),
                     "last_skipped_at": _opt(last_skipped)},
    }


def _opt(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


