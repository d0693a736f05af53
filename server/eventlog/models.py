from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigIntKey
from server.tenants import models as _tenants  # noqa: F401  (the foreign key below names its table)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "idempotency_key", name="uq_events_idempotency"),
        Index("ix_events_tenant_offset", "tenant_id", "offset"),
        # SQLite would otherwise reuse the offsets of the newest events once they are deleted (a tenant deleted)
        {"sqlite_autoincrement": True},
    )

    offset: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(160))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
