"""How the detector writes the understanding stage's outputs. Every write is idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.db import get_or_add
from server.topics.models import TextVector, Ticket, Topic

_TICKET_FIELDS = {c.key for c in Ticket.__table__.columns} - {"tenant_id", "zendesk_id"}
_TOPIC_FIELDS = {"label", "keywords", "summary", "size", "representatives", "first_seen_at", "last_seen_at",
                 "merged_into"}


def write_topic(session: Session, key: tuple[int, int], row: dict[str, Any], now: datetime) -> None:
    tenant_id, topic_id = key
    topic = get_or_add(session, Topic, key, tenant_id=tenant_id, id=topic_id)
    for name in _TOPIC_FIELDS:
        setattr(topic, name, row[name])
    topic.label = topic.label[:300]
    topic.updated_at = now
    if row["merged_into"] is not None:
        session.flush()
        session.execute(update(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.topic_id == topic_id)
                        .values(topic_id=row["merged_into"]))


def write_ticket(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    tenant_id, zendesk_id = key
    ticket = get_or_add(session, Ticket, key, tenant_id=tenant_id, zendesk_id=zendesk_id)
    for name, value in row.items():
        if name in _TICKET_FIELDS:
            setattr(ticket, name, value)


def write_text_vector(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    """A text's vector is written once: the same text embeds to the same vector."""
    tenant_id, text_sha256 = key
    if session.get(TextVector, key) is None:
        session.add(TextVector(tenant_id=tenant_id, text_sha256=text_sha256, vector=row["vector"], created_at=now))
