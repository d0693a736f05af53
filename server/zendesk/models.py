from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
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


class ZendeskConnection(Base):
    """How Groundswell reaches one tenant's Zendesk: subdomain, credentials, marketplace identity,
    and what the install created there.

    ``auth`` is ``api_token`` (a private install: ``email`` + API token) or ``oauth`` (a marketplace
    install: an access token from the marketplace's global OAuth client). The token is stored
    encrypted with the server's SECRET_KEY (``credential_enc``) and never shown again.
    ``events_offset`` is how far the problem-ticket watcher has read the tenant's Zendesk events.
    """

    __tablename__ = "zendesk_connections"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    subdomain: Mapped[str] = mapped_column(String(63))
    auth: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(320))
    credential_enc: Mapped[str] = mapped_column(String(2048))
    marketplace_name: Mapped[str | None] = mapped_column(String(100))
    marketplace_organization_id: Mapped[str | None] = mapped_column(String(40))
    marketplace_app_id: Mapped[str | None] = mapped_column(String(40))
    webhook_id: Mapped[str | None] = mapped_column(String(64))
    trigger_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    events_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProblemTicket(Base):
    """The Zendesk problem ticket of one incident (at most one: the primary key is the incident).

    The row is claimed (``problem_ticket_id`` NULL, ``claimed_at`` set) and committed before the
    ticket is created in Zendesk, so two agents clicking at once cannot make two problem tickets.
    ``resolved_at`` is set when the problem was solved in Zendesk and the incident resolved for it.
    """

    __tablename__ = "zendesk_problem_tickets"
    __table_args__ = (Index("ux_zendesk_problem_tickets_ticket", "tenant_id", "problem_ticket_id", unique=True),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    problem_ticket_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TicketLink(Base):
    """A ticket linked (type incident, ``problem_id``) to its incident's problem ticket.

    Rows made by an agent's click are ``done`` at once. Rows for automatic linking are the outbox
    of the Zendesk worker: ``pending`` until it links the ticket and adds the internal note, then
    ``done``, or ``failed`` after its last attempt (``last_error`` says why).
    """

    __tablename__ = "zendesk_ticket_links"
    __table_args__ = (Index("ix_zendesk_ticket_links_pending", "state", "next_attempt_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    zendesk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    linked_by: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
