"""The Zendesk app's endpoints: link a ticket to the incident's problem ticket, the Zendesk settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from server.api.views import _api_limit, _token_key
from server.extensions import limiter
from server.http import AUTH_ERRORS, db_session, documented, json_body, require_token
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant
from server.zendesk import problems, service
from server.zendesk.connection import tenant_client
from server.zendesk.schemas import (
    ProblemTicketInSchema,
    ZendeskSettingsInSchema,
    problem_ticket_in,
    problem_ticket_out,
    zendesk_settings_in,
    zendesk_settings_out,
)

bp = Blueprint("zendesk", __name__, url_prefix="/api/v1")


def _public_url() -> str:
    return str(current_app.config.get("PUBLIC_URL") or request.host_url)


@bp.post("/incidents/<int:incident_id>/problem-ticket")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Link a ticket to the incident's Zendesk problem ticket (made on first use)",
            tags=["zendesk"], body=ProblemTicketInSchema(), auth="api_token",
            responses={200: (problem_ticket_out, "The ticket is now of type incident under the problem ticket."),
                       400: (ErrorSchema(), "A body field failed validation (`error.fields` names it), or the body is "
                                            "not a JSON object."),
                       404: (ErrorSchema(), "No such incident for this tenant."),
                       409: (ErrorSchema(), "The incident is resolved or dismissed, or its problem ticket is "
                                            "being created by another request."),
                       502: (ErrorSchema(), "Zendesk failed (`zendesk_error`) or the tenant has no Zendesk "
                                            "connection (`zendesk_not_connected`)."),
                       **AUTH_ERRORS})
@require_token
def link_problem_ticket(tenant: Tenant, incident_id: int) -> Any:
    """First use: creates the problem ticket (subject: the incident's title; internal note: the evidence
    sentence and a link to the incident page), then sets the ticket's type to incident with `problem_id`.
    Concurrent first uses create one problem ticket."""
    body = problem_ticket_in.load(json_body())
    session = db_session()
    secret_key = current_app.extensions["groundswell.secret_key"]
    result = problems.link_ticket(
        session, tenant.id, incident_id, body["ticket_id"], body["by"],
        client=lambda: tenant_client(session, tenant.id, current_app.config, secret_key=secret_key),
        base_url=_public_url(), now=utcnow)
    return jsonify(problem_ticket_out.dump(result))


@bp.get("/settings/zendesk")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="The tenant's Zendesk settings and connection", tags=["zendesk"], auth="api_token",
            responses={200: (zendesk_settings_out, "Auto-link switch and the connection (never its token)."),
                       **AUTH_ERRORS})
@require_token
def get_settings(tenant: Tenant) -> Any:
    return jsonify(zendesk_settings_out.dump(service.zendesk_settings(db_session(), tenant)))


@bp.patch("/settings/zendesk")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Switch automatic linking of new incident tickets", tags=["zendesk"],
            body=ZendeskSettingsInSchema(), auth="api_token",
            responses={200: (zendesk_settings_out, "The settings after the change."),
                       400: (ErrorSchema(), "A body field failed validation, or the body is not a JSON object."),
                       **AUTH_ERRORS})
@require_token
def patch_settings(tenant: Tenant) -> Any:
    """With `auto_link` on, every ticket that newly joins an incident having a problem ticket is linked
    to it by the detector's Zendesk worker, with an internal note carrying the incident's evidence."""
    body = zendesk_settings_in.load(json_body())
    return jsonify(zendesk_settings_out.dump(service.update_zendesk_settings(db_session(), tenant.id, **body)))
