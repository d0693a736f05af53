"""Names of a tenant's Zendesk organizations (so reports can say who an organization id is), the flags
of its latest accounts reports (for the sidebar), and the weekly accounts digest's record of what it sent."""

from __future__ import annotations

from datetime import datetime

from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.tenants import models as _tenants  # noqa: F401  (the foreign key below names its table)

#: Longest organization name kept (Zendesk allows 255 characters).
MAX_NAME = 255


class Organization(Base):
    """A Zendesk organization's name as the latest ticket payload that carried it said."""

    __tablename__ = "organizations"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    zendesk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountDigest(Base):
    """The weekly accounts digest of one tenant: the last scheduled slot handled, and how it went."""

    __tablename__ = "account_digests"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    last_slot: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accounts: Mapped[int | None] = mapped_column(Integer)
    #: Why the slot's digest was not sent (Slack's error code, "late", "not_configured"), else None.
    error: Mapped[str | None] = mapped_column(String(100))


class AccountReport(Base):
    """The flagged accounts of a tenant's report over the last ``days`` days, as the detector last
    computed it with the default settings (the sidebar's note reads these instead of computing)."""

    __tablename__ = "account_reports"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
