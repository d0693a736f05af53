from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, current_app, jsonify

from server.api import service
from server.api.schemas import status_out_schema
from server.extensions import limiter
from server.http import bearer_token, db_session, documented, require_token
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _token_key() -> str:
    token = bearer_token() or ""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24]


def _api_limit() -> str:
    return str(current_app.config["RATE_LIMIT_API"])


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
