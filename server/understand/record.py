"""The normalised ticket record that every Zendesk payload kind is parsed into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TicketUpdate:
    """What one Zendesk payload says about one ticket.

    ``created`` is True when the payload describes the ticket's creation (a ``ticket.created``
    event, a trigger body with ``event: created``, or a backfilled ticket seen for the first time);
    otherwise the payload updates fields of a ticket that may or may not be known yet.
    Fields the payload does not carry are None (or empty), and a writer leaves them unchanged.

    Ids are strings (event-subscribed payloads send strings, the REST API integers); status,
    priority and type are lower-case; times are timezone-aware UTC.
    """

    ticket_id: str
    created: bool
    subject: str | None = None
    description: str | None = None  # the first comment, raw (HTML or text), not yet cleaned
    requester_id: str | None = None
    requester_email_sha256: str | None = None
    organization_id: str | None = None
    #: The organization's name, when the payload carries it (the install's trigger body does).
    organization_name: str | None = None
    tags: tuple[str, ...] | None = None
    channel: str | None = None
    brand_id: str | None = None
    locale: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)  # mapped names -> values (tenant settings)
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    group_id: str | None = None
    problem_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    solved_at: datetime | None = None
