"""Behind the Zendesk settings endpoints: the tenant's auto-link switch and its connection's public view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.tenants import Tenant
from server.zendesk.connection import get_connection, public_view


def auto_link_enabled(settings: dict[str, Any] | None) -> bool:
    """Whether the tenant links new incident tickets to the problem ticket by itself.

    Examples
    --------
    >>> auto_link_enabled({"zendesk": {"auto_link": True}}), auto_link_enabled(None)
    (True, False)
    """
    zendesk = (settings or {}).get("zendesk")
    return bool(isinstance(zendesk, dict) and zendesk.get("auto_link") is True)


def zendesk_settings(session: Session, tenant: Tenant) -> dict[str, Any]:
    return {"auto_link": auto_link_enabled(tenant.settings),
            "connection": public_view(get_connection(session, tenant.id))}


def update_zendesk_settings(session: Session, tenant_id: int, *, auto_link: bool) -> dict[str, Any]:
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    if tenant is None:  # pragma: no cover - the token named this tenant
        raise NotFound("No such tenant.")
    zendesk = dict((tenant.settings or {}).get("zendesk") or {})
    zendesk["auto_link"] = bool(auto_link)
    tenant.settings = {**(tenant.settings or {}), "zendesk": zendesk}  # a new dict: JSON columns track assignment
    session.commit()
    return zendesk_settings(session, tenant)
