"""Tables of outgoing incident webhooks: the endpoints a tenant registered and one delivery row per
(endpoint, incident notification).

A delivery row is added in the same transaction as the notification outbox row it carries
(``notifications``, keyed ``(tenant_id, incident_id, seq)``), so it exists exactly when the incident
change was committed; its body is built from that row's payload when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.tenants import models as _tenants  # noqa: F401  (the foreign keys below name its table)

#: Body formats: Groundswell's own signed JSON, or a PagerDuty Events API v2 event.
FORMATS = ("groundswell", "pagerduty")


class WebhookEndpoint(Base):
    """Where one tenant wants incident events POSTed.

    ``secret_enc`` is the Fernet-encrypted signing secret (``groundswell`` format) or PagerDuty
    routing key (``pagerduty``). ``events`` lists the incident events sent (``opened``, ``grew``, ``acknowledged``,
    ``resolved``, ``reopened``); ``kinds`` the incident kinds, or None for all.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(8))
    events: Mapped[list[str]] = mapped_column(JSON)
    kinds: Mapped[list[str] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: pagerduty format: the Fernet-encrypted secret of the PagerDuty v3 webhook subscription that tells
    #: Groundswell when its alerts are acknowledged or resolved there (server/notify/pagerduty_inbound.py).
    inbound_secret_enc: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One incident notification for one endpoint. States, as in the Slack outbox: pending
    (``sent_at`` NULL), delivered (``sent_at`` set, ``last_error`` NULL), closed undelivered (both set)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "sent_at", "tenant_id"),)

    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                             primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)



class NotificationMute(Base):
    """Outbound notifications (Slack, webhooks, PagerDuty) held back until ``until``, for one incident
    (``incident_id``) or for every incident on one series (``series``, e.g. ``channel:email``).
    Detection and the pages and sidebar are unaffected."""

    __tablename__ = "notification_mutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    series: Mapped[str | None] = mapped_column(String(200))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
