"""Behind the Zendesk settings endpoints (the tenant's auto-link switch and its connection's public view), and
what the ticket sidebar adds to a ticket's context: whether the ticket is linked to each incident's problem
ticket, and the agent's own verdict on each incident."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.incidents.models import Feedback
from server.tenants import Tenant
from server.topics.models import Ticket
from server.zendesk.connection import get_connection, public_view
from server.zendesk.models import TicketLink


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


def add_sidebar_state(session: Session, tenant_id: int, context: dict[str, Any], *, agent: str | None) -> None:
    """Mark each incident of a ticket's context (``ticket_context``) with what was already done about it, so
    that the sidebar shows it again after a reload:

    - ``ticket_linked``: the ticket is an incident of the incident's problem ticket, as Zendesk last told
      Groundswell (the ticket's ``problem_id``) or because Groundswell linked it (an agent's click, or the
      auto-link worker once it has done so);
    - ``your_verdict``: ``useful`` or ``noise`` when ``agent`` (the ``by`` the sidebar sends with its
      actions: the agent's name and email) gave one, else None.
    """
    incidents = context.get("incidents") or []
    ids = [i["id"] for i in incidents]
    if not ids:
        return
    zendesk_id = str(context["ticket"]["zendesk_id"])
    ticket = session.get(Ticket, (tenant_id, zendesk_id))
    linked = set(session.scalars(select(TicketLink.incident_id).where(
        TicketLink.tenant_id == tenant_id, TicketLink.zendesk_id == zendesk_id, TicketLink.incident_id.in_(ids),
        TicketLink.state == "done")))
    verdicts: dict[int, str] = {}
    if agent:
        rows = session.execute(select(Feedback.incident_id, Feedback.verdict).where(
            Feedback.tenant_id == tenant_id, Feedback.incident_id.in_(ids), Feedback.by == agent[:200])
            .order_by(Feedback.id))
        verdicts = {incident_id: verdict for incident_id, verdict in rows}  # the latest one counts
    for incident in incidents:
        problem = incident.get("problem_ticket_id")
        in_zendesk = problem is not None and ticket is not None and ticket.problem_id == str(problem)
        incident["ticket_linked"] = problem is not None and (in_zendesk or incident["id"] in linked)
        incident["your_verdict"] = verdicts.get(incident["id"])
