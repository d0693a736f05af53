from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.tenants import models as _tenants  # noqa: F401  (the foreign key below names its table)


class BackfillCursor(Base):
    """Where a tenant's incremental ticket export stands: written with each page's events.

    ``cursor`` is the export's ``after_cursor`` after the last committed page (None before the
    first page); ``done`` says the last page fetched had ``end_of_stream``. ``pages`` also serves
    as a version number, so two backfills of one tenant cannot both advance the cursor.
    """

    __tablename__ = "backfill_cursors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cursor: Mapped[str | None] = mapped_column(String(1024))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    tickets: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
