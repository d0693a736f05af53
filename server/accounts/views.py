"""The account-changes report (API token)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from server.accounts import service
from server.accounts.schemas import AccountChangesQuerySchema, account_changes_out, account_changes_query
from server.api.views import _api_limit, _token_key
from server.extensions import limiter
from server.http import AUTH_ERRORS, db_session, documented, require_token
from server.ingest.schemas import ErrorSchema
from server.metrics import utcnow
from server.tenants import Tenant

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")
_400 = {400: (ErrorSchema(), "A parameter failed validation; `error.fields` names it.")}


@bp.get("/accounts/changes")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Accounts whose tickets or product usage changed against their own past", tags=["accounts"],
            query=AccountChangesQuerySchema(), auth="api_token",
            responses={200: (account_changes_out, "Flagged accounts and what was tested."), **_400, **AUTH_ERRORS})
@require_token
def account_changes(tenant: Tenant) -> Any:
    """Each Zendesk organization's tickets and each product account's widget sessions and active users in
    the last `days` days, against their share of the tenant in the `weeks` windows before."""
    args = account_changes_query.load(request.args.to_dict())
    return jsonify(account_changes_out.dump(service.account_changes(db_session(), tenant.id, now=utcnow(), **args)))
