"""How the detector writes the widget stage's session rows and each ticket's sessions (friction incidents
go through the incident writer). Writes are snapshots, so a replay after a crash rewrites the same rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.db import get_or_add
from server.widget.models import WidgetSession, WidgetTicketSessions


def write_widget_session(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    tenant_id, session_id = key
    record = get_or_add(session, WidgetSession, key, tenant_id=tenant_id, session_id=session_id)
    for name, value in row.items():
        setattr(record, name, value)
    record.updated_at = now


def write_ticket_sessions(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    tenant_id, zendesk_id = key
    record = get_or_add(session, WidgetTicketSessions, key, tenant_id=tenant_id, zendesk_id=zendesk_id)
    record.session_ids = list(row["session_ids"])
    record.ticket_at = row["ticket_at"]
    record.updated_at = now
