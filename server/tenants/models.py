from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class Tenant(Base):
    __tablename__ = "tenants"
    # SQLite would otherwise give a deleted tenant's id (the highest) to the next one created, and with it
    # whatever still knows that id (a detector's learnt state in a checkpoint, a cache)
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    zendesk_subdomain: Mapped[str | None] = mapped_column(String(63))
    webhook_secret_enc: Mapped[str] = mapped_column(String(512))
    site_key: Mapped[str] = mapped_column(String(64), unique=True)
    api_token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
