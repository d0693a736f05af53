from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from server.api.views import _api_limit, _token_key
from server.extensions import limiter
from server.http import AUTH_ERRORS, db_session, documented, require_token
from server.ingest.schemas import ErrorSchema
from server.notify import service
from server.notify.client import SlackClient, parse_hosts
from server.notify.schemas import NotificationSettingsInSchema, settings_in, settings_out, test_out
from server.tenants import Tenant

bp = Blueprint("notify", __name__, url_prefix="/api/v1")
#: Each test posts to Slack: a tighter limit than the API's, so a token cannot spam a channel.
TEST_LIMIT = "10/minute"


def _secret_key() -> str:
    return str(current_app.extensions["groundswell.secret_key"])


def _hosts() -> frozenset[str]:
    return parse_hosts(str(current_app.config["SLACK_WEBHOOK_HOSTS"]))


@bp.get("/settings/notifications")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="The tenant's Slack notification settings (secrets are never returned)", tags=["notifications"],
            auth="api_token", responses={200: (settings_out, "Mode, channel, and whether each secret is set."),
                                         **AUTH_ERRORS})
@require_token
def get_settings(tenant: Tenant) -> Any:
    view = service.notification_settings(tenant)
    view["accounts_digest_last"] = service.digest_record(db_session(), tenant.id)
    return jsonify(settings_out.dump(view))


@bp.put("/settings/notifications")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Change the Slack notification settings", tags=["notifications"],
            body=NotificationSettingsInSchema(), auth="api_token",
            responses={200: (settings_out, "The settings after the change."),
                       400: (ErrorSchema(), "A field failed validation; `error.fields` names it."), **AUTH_ERRORS})
@require_token
def put_settings(tenant: Tenant) -> Any:
    """`mode` and `channel` are replaced; `webhook_url` and `bot_token` are kept when absent and removed
    when null. Secrets are stored encrypted and never returned."""
    body = settings_in.load(request.get_json(force=True, silent=True) or {})
    return jsonify(settings_out.dump(service.update_notification_settings(
        db_session(), tenant.id, body, secret_key=_secret_key(), webhook_hosts=_hosts())))


@bp.post("/settings/notifications/test")
@limiter.limit(_api_limit, key_func=_token_key)
@limiter.limit(TEST_LIMIT, key_func=_token_key)
@documented(summary="Send a test message to Slack and report its answer", tags=["notifications"], auth="api_token",
            responses={200: (test_out, "Slack's answer: `ok`, or its HTTP status and error code."),
                       409: (ErrorSchema(), "Slack is not configured, or its credentials cannot be read."),
                       **AUTH_ERRORS})
@require_token
def send_test_message(tenant: Tenant) -> Any:
    client = SlackClient(api_url=str(current_app.config["SLACK_API_URL"]), webhook_hosts=_hosts())
    return jsonify(test_out.dump(service.send_test(tenant, secret_key=_secret_key(), client=client,
                                                   base_url=current_app.config["PUBLIC_URL"] or None)))
