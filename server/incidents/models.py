"""Tables of the detection side: incidents and their tickets, releases, feedback, the hourly volume
series with their baseline bands, and the notification outbox.

Who writes what: the detector writes incidents (every field but the human ones), incident tickets,
releases and volume points, always idempotently (a replay after a crash rewrites the same rows).
People change an incident's ``status`` and leave feedback through the API; the API also appends the
change to the event log so that the detector learns it in event order (see server/incidents/stage.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigIntKey
from server.tenants import models as _tenants  # noqa: F401  (the foreign keys below name its table)

#: Kinds of incident the detector opens.
KINDS = ("spike", "new_topic", "drop", "sentiment", "concentration", "friction")
#: Lifecycle: open -> acknowledged -> resolved, or dismissed from open or acknowledged.
STATUSES = ("open", "acknowledged", "resolved", "dismissed")
ACTIVE = ("open", "acknowledged")


class Incident(Base):
    """One real problem. ``id`` counts up per tenant, in the detector's event order."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_tenant_status_detected", "tenant_id", "status", "detected_at"),
        Index("ix_incidents_tenant_topic", "tenant_id", "topic_id"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    #: Who last set the status: ``detector`` (open, auto-resolve) or the person's name/email from the API.
    status_by: Mapped[str] = mapped_column(String(200))
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The watched series: ``topic:<id>``, ``channel:<name>``, ``form:<id>``, ``all``.
    series: Mapped[str] = mapped_column(String(120))
    topic_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    sentence: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(String(8))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Event time of the last change the detector made (attach, growth, resolve).
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ticket_count: Mapped[int] = mapped_column(Integer)
    requester_count: Mapped[int] = mapped_column(Integer)
    account_count: Mapped[int] = mapped_column(Integer)
    p_value: Mapped[float] = mapped_column(Float)
    surprise: Mapped[float] = mapped_column(Float)
    #: Observed vs expected and band, segments, top terms, representatives, release, the hourly series.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    useful_count: Mapped[int] = mapped_column(Integer, default=0)
    noise_count: Mapped[int] = mapped_column(Integer, default=0)
    #: What Claude made of the incident's redacted tickets (server/incidents/summaries.py), shown as
    #: untrusted text; None without an API key or before the first summary. Its ticket count then.
    llm_summary: Mapped[str | None] = mapped_column(Text)
    llm_summary_size: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IncidentTicket(Base):
    """A ticket attached to an incident (the tickets of the rise and every matching one after it)."""

    __tablename__ = "incident_tickets"
    __table_args__ = (Index("ix_incident_tickets_tenant_ticket", "tenant_id", "zendesk_id"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    zendesk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Release(Base):
    """A deploy recorded through ``POST /api/v1/releases``."""

    __tablename__ = "releases"
    __table_args__ = (Index("ix_releases_tenant_deployed", "tenant_id", "deployed_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Feedback(Base):
    """A person's verdict on an incident: ``useful`` or ``noise``."""

    __tablename__ = "incident_feedback"
    __table_args__ = (Index("ix_incident_feedback_tenant_incident", "tenant_id", "incident_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(10))
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VolumePoint(Base):
    """One closed hour of one series: what came, what the baseline expected, and its band."""

    __tablename__ = "volume_points"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    series: Mapped[str] = mapped_column(String(120), primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)
    requesters: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    lower: Mapped[float] = mapped_column(Float)
    upper: Mapped[float] = mapped_column(Float)


class Notification(Base):
    """Outbox: one row per message the notifier must send (incident opened, grew, acknowledged, resolved, reopened).

    The detector's writer adds rows idempotently (``seq`` is the incident's notification count); the
    notifier sends pending rows in order and records the outcome. ``payload`` is the incident's snapshot
    at that moment, so a message says what was true then.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "sent_at", "tenant_id"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class SlackThread(Base):
    """The Slack message an incident's thread hangs from (Web API mode: channel and ``ts``)."""

    __tablename__ = "slack_threads"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(100))
    ts: Mapped[str] = mapped_column(String(40))


class BacktestRun(Base):
    """A backtest asked for through the API: what-if settings replayed over the tenant's log by the
    detector process's backtest worker (server/incidents/backtest_runs.py), compared with the stored settings.

    ``status``: queued -> running -> done, failed or cancelled. A running row holds a lease
    (``lease_until``) that the worker extends as it goes; a row whose lease ran out (its process died) is
    queued again, at most ``MAX_ATTEMPTS`` times in all.
    """

    __tablename__ = "backtest_runs"
    __table_args__ = (Index("ix_backtest_runs_status", "status", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    events_total: Mapped[int] = mapped_column(Integer, default=0)
    events_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
