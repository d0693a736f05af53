"""Tables of the widget's server side.

Who writes what: admins write ``widget_settings`` through the settings API; the detector writes
``widget_sessions`` (one row per live session: its friction features, the classifier's latest
``p_ticket`` and, once known, the session's outcome) and ``widget_ticket_sessions`` (which sessions of a
ticket's requester came in the day before it, for the sidebar); the decision API appends
``widget_decisions``.
The measurement joins decisions with session outcomes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigIntKey
from server.tenants import models as _tenants  # noqa: F401  (the foreign keys below name its table)


class WidgetSettings(Base):
    """A tenant's widget configuration (nudges, caps, holdout, known issues) and identity secret."""

    __tablename__ = "widget_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: HMAC key for identity verification, encrypted with a key derived from SECRET_KEY.
    identity_secret_enc: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WidgetSession(Base):
    """One widget session as the detector last saw it."""

    __tablename__ = "widget_sessions"
    __table_args__ = (Index("ix_widget_sessions_tenant_last_seen", "tenant_id", "last_seen_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_path: Mapped[str | None] = mapped_column(String(200))
    #: Session totals and per-page friction counts (see server/widget/features.py).
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: P(a ticket from this user within 24 h), or None while the classifier is not ready or the user is unknown.
    p_ticket: Mapped[float | None] = mapped_column(Float)
    #: Pages on which the cold-start friction rule says the session is stuck.
    stuck_pages: Mapped[list[str]] = mapped_column(JSON)
    model_ready: Mapped[bool] = mapped_column(Boolean)
    #: ``ticket`` or ``none`` once the 24 h horizon is decided; None while pending or anonymous.
    outcome: Mapped[str | None] = mapped_column(String(8))
    ticket_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The log offset of the newest event of the session the detector has folded into this row: a decision
    #: adds the session's later events from the log (server/widget/service.py session_view).
    last_offset: Mapped[int | None] = mapped_column(BigIntKey)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WidgetDecision(Base):
    """One answer of the decision API, including the holdout's would-be nudges."""

    __tablename__ = "widget_decisions"
    __table_args__ = (
        Index("ix_widget_decisions_tenant_session", "tenant_id", "session_id"),
        Index("ix_widget_decisions_tenant_user_decided", "tenant_id", "user_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(20))
    nudge_id: Mapped[str | None] = mapped_column(String(64))
    holdout: Mapped[bool] = mapped_column(Boolean)
    #: The session was stuck and had content: shown (``reason == "nudge"``) or held out.
    would_nudge: Mapped[bool] = mapped_column(Boolean)
    p_ticket: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["WidgetDecision", "WidgetSession", "WidgetSettings"]


class WidgetTicketSessions(Base):
    """The widget sessions of a ticket's requester that started in the day before the ticket (the sidebar
    shows what the customer met in the product before writing)."""

    __tablename__ = "widget_ticket_sessions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    zendesk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Session ids, oldest first (at most ``MAX_TICKET_SESSIONS`` of server/widget/stage.py).
    session_ids: Mapped[list[str]] = mapped_column(JSON)
    ticket_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
