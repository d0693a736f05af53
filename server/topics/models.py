from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.tenants import models as _tenants  # noqa: F401  (the foreign keys below name its table)


class Topic(Base):
    """A live topic, written by the detector; ``name`` is the agents' override and only they set it."""

    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_tenant_last_seen", "tenant_id", "last_seen_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    llm_summary: Mapped[str | None] = mapped_column(Text)
    llm_summary_size: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    representatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merged_into: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Ticket(Base):
    """A Zendesk ticket as Groundswell knows it: normalised fields, redacted text, its topic."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_tenant_topic_created", "tenant_id", "topic_id", "created_at"),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    zendesk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(500))
    excerpt: Mapped[str | None] = mapped_column(Text)
    redactions: Mapped[dict[str, int] | None] = mapped_column(JSON)
    requester_id: Mapped[str | None] = mapped_column(String(32))
    requester_email_sha256: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    channel: Mapped[str | None] = mapped_column(String(40))
    brand_id: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(20))
    custom_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    group_id: Mapped[str | None] = mapped_column(String(32))
    problem_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    topic_id: Mapped[int | None] = mapped_column(Integer)
    assigned_topic_id: Mapped[int | None] = mapped_column(Integer)
    topic_similarity: Mapped[float | None] = mapped_column(Float)


class TextVector(Base):
    """A ticket text's embedding as the detector computed it, keyed by the SHA-256 (hex) of the text it
    embedded (subject and body, cleaned and redacted): a backtest reads it instead of embedding the text
    again. 384 float32 values, little-endian (1,536 bytes)."""

    __tablename__ = "text_vectors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
