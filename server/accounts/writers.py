"""How the detector writes what it learns of accounts. Every write is idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.accounts.models import MAX_NAME, Organization
from server.db import get_or_add


def write_organization(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    """An organization's latest name (a renamed organization takes its new name)."""
    tenant_id, zendesk_id = key
    org = get_or_add(session, Organization, key, tenant_id=tenant_id, zendesk_id=zendesk_id)
    org.name = str(row["name"])[:MAX_NAME]
    org.updated_at = now
