from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, current_app, g, jsonify

from server.api import service
from server.api.schemas import status_out_schema
from server.errors import ClientError
from server.extensions import client_key, limiter
from server.http import bearer_token, db_session, documented, require_token, token_tenant
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant
from server.zendesk.sidebar_auth import looks_like_jwt

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _token_key() -> str:
    """Rate-limit key of token-protected endpoints, decided after the credential is checked (the limiter
    counts before the view): an API token's own bucket; a sidebar JWT's tenant, shared by all its agents'
    sidebars and nav bars (the Zendesk proxy mints a new JWT for every request, and its claims name the
    tenant, not the agent: only ``iss``, ``aud`` and ``exp``), limited by ``RATE_LIMIT_SIDEBAR``;
    else, for a missing, unknown or expired credential, the caller's address, so guesses with ever new
    values share one bucket."""
    if "api_rate_key" not in g:
        token = bearer_token()
        tenant = None
        if token:
            try:
                tenant = token_tenant(token)
            except ClientError:
                tenant = None
        if tenant is None:
            g.api_rate_key = "addr:" + client_key()
        elif looks_like_jwt(str(token)):
            g.api_rate_key = f"sidebar:{tenant.id}"
        else:
            g.api_rate_key = "token:" + hashlib.sha256(str(token).encode()).hexdigest()[:24]
    return str(g.api_rate_key)


def _api_limit() -> str:
    """``RATE_LIMIT_SIDEBAR`` for a tenant's sidebars (one bucket for all its agents), else
    ``RATE_LIMIT_API`` (one API token, or one caller address)."""
    name = "RATE_LIMIT_SIDEBAR" if _token_key().startswith("sidebar:") else "RATE_LIMIT_API"
    return str(current_app.config[name])


@bp.get("/status")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Ingest statistics and detector lag for the token's tenant", tags=["operations"],
            auth="api_token",
            responses={200: (status_out_schema, "Per-source event rates, totals and detector progress."),
                       401: (ErrorSchema(), "Missing or unknown API token."),
                       429: (ErrorSchema(), "Rate limit exceeded; retry after Retry-After seconds.")})
@require_token
def status(tenant: Tenant) -> Any:
    """Numbers come from the detector's checkpointed statistics; `detector.pending_events` and
    `detector.lag_seconds` say how far those are behind the log."""
    data = service.tenant_status(db_session(), current_app.extensions["groundswell.log"], tenant, utcnow())
    return jsonify(status_out_schema.dump(data))
