from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigIntKey
from server.tenants import models as _tenants  # noqa: F401  (the foreign keys below name its table)


class DetectorCheckpoint(Base):
    """Where one detector partition is in the log, with its stages' pickled state."""

    __tablename__ = "detector_checkpoints"

    partition: Mapped[str] = mapped_column(String(32), primary_key=True)
    offset: Mapped[int] = mapped_column(BigIntKey)
    events_processed: Mapped[int] = mapped_column(BigIntKey, default=0)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IngestStat(Base):
    """Ingest statistics of one tenant and source, written by the detector."""

    __tablename__ = "ingest_stats"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    total: Mapped[int] = mapped_column(BigIntKey)
    minutes: Mapped[dict[str, int]] = mapped_column(JSON)
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_offset: Mapped[int] = mapped_column(BigIntKey)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadLetter(Base):
    """An event the detector could not process: it failed twice on its own, so it was skipped.

    Keyed by offset, so any runner that reads the event later (a restart from an older checkpoint,
    another partitioning) skips it too. ``partition`` is the one that skipped it. The runner also counts them,
    by offset, to stop skipping when too many bad events come close together (``MAX_DEAD_LETTERS``).
    """

    __tablename__ = "detector_dead_letters"

    offset: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=False)
    partition: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(80))
    error_class: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
