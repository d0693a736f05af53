from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from server.api.views import _api_limit, _token_key
from server.config import flag
from server.extensions import client_key, limiter
from server.http import AUTH_ERRORS, db_session, documented, json_body, require_token
from server.ingest.schemas import ErrorSchema
from server.notify import interactions, pagerduty_inbound, service
from server.notify.client import SlackClient, parse_hosts
from server.metrics import utcnow
from server.notify.schemas import (MuteInSchema, NotificationSettingsInSchema, PagerDutyDeliverySchema,
                                   SlackInteractionFormSchema, WebhookDeliveriesQuerySchema, WebhookPatchInSchema,
                                   pagerduty_result_out, webhook_patch_in,
                                   WebhookInSchema, mute_in, mute_list, mute_out, settings_in, settings_out, test_out,
                                   webhook_deliveries_out, webhook_deliveries_query, webhook_in, webhook_list,
                                   webhook_out, webhook_test_out)
from server.notify.webhooks import WebhookSender
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
    return jsonify(settings_out.dump({**view, "interactions_url": _interactions_url(tenant)}))


def _interactions_url(tenant: Tenant) -> str:
    return _base_url() + f"/api/v1/slack/interactions/{tenant.slug}"


@bp.put("/settings/notifications")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Change the Slack notification settings", tags=["notifications"],
            body=NotificationSettingsInSchema(), auth="api_token",
            responses={200: (settings_out, "The settings after the change."),
                       400: (ErrorSchema(), "A field failed validation (`error.fields` names it), or the body is not a "
                                            "JSON object."), **AUTH_ERRORS})
@require_token
def put_settings(tenant: Tenant) -> Any:
    """`mode` and `channel` are replaced; `webhook_url` and `bot_token` are kept when absent and removed
    when null. Secrets are stored encrypted and never returned."""
    body = settings_in.load(json_body())
    view = service.update_notification_settings(db_session(), tenant.id, body, secret_key=_secret_key(),
                                                webhook_hosts=_hosts())
    return jsonify(settings_out.dump({**view, "interactions_url": _interactions_url(tenant)}))


def _interaction_limit() -> str:
    return str(current_app.config["RATE_LIMIT_WEBHOOK"])


def _interaction_key() -> str:
    """Per target (tenant or webhook) and caller address: the limit is counted before the signature is
    checked, so unsigned floods from one address cannot use up what Slack's or PagerDuty's own
    addresses may send."""
    target = (request.view_args or {}).get("slug", (request.view_args or {}).get("webhook_id", ""))
    return f"{request.endpoint}:{str(target)[:63]}:{client_key()}"


@bp.post("/slack/interactions/<slug>")
@limiter.limit(_interaction_limit, key_func=_interaction_key)
@documented(summary="Slack's requests when people press an incident message's buttons", tags=["notifications"],
            body=SlackInteractionFormSchema(), body_content_type="application/x-www-form-urlencoded",
            auth="slack_signature",
            responses={200: (None, "Handled (or not a Groundswell button); Slack is answered through response_url."),
                       400: (ErrorSchema(), "Signed, but not an interaction payload."),
                       401: (ErrorSchema(), "Missing, stale or wrong signature, or a tenant without a signing "
                                            "secret."),
                       413: (ErrorSchema(), "Body too large."), 429: (ErrorSchema(), "Too many requests.")})
def slack_interaction(slug: str) -> Any:
    """The Slack app's Interactivity request URL (`interactions_url` in GET /api/v1/settings/notifications):
    Acknowledge, Useful and Noise act as the incidents API does, in the name of the Slack user who pressed."""
    body = request.get_data(cache=True)
    interactions.receive(
        db_session(), current_app.extensions["groundswell.log"], slug, body,
        request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature"),
        request.form.get("payload"), secret_key=_secret_key(), now=utcnow(),
        base_url=current_app.config["PUBLIC_URL"] or None,
        client=SlackClient(api_url=str(current_app.config["SLACK_API_URL"]), webhook_hosts=_hosts(), timeout=2.5))
    return "", 200


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


# -- outgoing incident webhooks ------------------------------------------------------------------------
def _webhook_sender() -> WebhookSender:
    """A sender with the deployment's address rules, for the test endpoint (the detector runs its own)."""
    return WebhookSender.from_config(current_app.extensions["groundswell.db"], current_app.config,
                                     secret_key=_secret_key())


@bp.get("/settings/webhooks")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="The tenant's incident webhooks (secrets are never returned)", tags=["notifications"],
            auth="api_token", responses={200: (webhook_list, "Every endpoint, oldest first, and whether a new "
                                                             "one's URL must use https."), **AUTH_ERRORS})
@require_token
def list_webhooks(tenant: Tenant) -> Any:
    listed = service.list_webhooks(db_session(), tenant.id)
    return jsonify(webhook_list.dump({"webhooks": [_absolute(w) for w in listed["webhooks"]],
                                      "require_https": flag(current_app.config["WEBHOOK_REQUIRE_HTTPS"])}))


def _base_url() -> str:
    return str(current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")


def _absolute(view: dict[str, Any]) -> dict[str, Any]:
    """A webhook's view with its PagerDuty webhook URL under PUBLIC_URL (else the address this request reached)."""
    path = view.get("pagerduty_webhook_url")
    return {**view, "pagerduty_webhook_url": _base_url() + path if path else None}


@bp.post("/settings/webhooks")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Register an incident webhook (Groundswell's signed JSON, or PagerDuty)", tags=["notifications"],
            body=WebhookInSchema(), auth="api_token",
            responses={201: (webhook_out, "The endpoint; for the groundswell format, with its signing secret "
                                          "(shown only in this answer)."),
                       400: (ErrorSchema(), "A field failed validation, the URL is not one Groundswell calls, or the "
                                            "body is not a JSON object."),
                       409: (ErrorSchema(), "The tenant already has the most webhooks allowed."), **AUTH_ERRORS})
@require_token
def create_webhook(tenant: Tenant) -> Any:
    """Later incident events (opened, grew, acknowledged, resolved, reopened) of the chosen kinds are POSTed to it by the
    detector, in order per incident, retried with back-off. Events before its creation are not sent."""
    body = webhook_in.load(json_body())
    cfg = current_app.config
    view = service.create_webhook(db_session(), tenant.id, body, secret_key=_secret_key(), now=utcnow(),
                                  allow_private=flag(cfg["WEBHOOK_ALLOW_PRIVATE"]),
                                  require_https=flag(cfg["WEBHOOK_REQUIRE_HTTPS"]))
    return jsonify(webhook_out.dump(_absolute(view))), 201


@bp.patch("/settings/webhooks/<int:webhook_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Change a webhook's events, kinds or description, or a PagerDuty webhook's inbound secret",
            tags=["notifications"], body=WebhookPatchInSchema(), auth="api_token",
            responses={200: (webhook_out, "The endpoint."),
                       400: (ErrorSchema(), "A field failed validation, nothing was given, a PagerDuty secret was "
                                            "given for a webhook not of the pagerduty format, or the body is not a "
                                            "JSON object."),
                       404: (ErrorSchema(), "No such webhook for this tenant."), **AUTH_ERRORS})
@require_token
def update_webhook(tenant: Tenant, webhook_id: int) -> Any:
    """Fields left out keep their values; later incident events follow the change. `pagerduty_webhook_secret`
    is the secret PagerDuty shows when its v3 webhook subscription (pointed at `pagerduty_webhook_url`) is
    created: with it stored, incidents acknowledged or resolved in PagerDuty are acknowledged or resolved
    here too. Null removes it."""
    body = webhook_patch_in.load(json_body())
    view = service.update_webhook(db_session(), tenant.id, webhook_id, body, secret_key=_secret_key())
    return jsonify(webhook_out.dump(_absolute(view)))


@bp.post("/webhooks/pagerduty/<int:webhook_id>")
@limiter.limit(_interaction_limit, key_func=_interaction_key)
@documented(summary="PagerDuty's v3 webhook deliveries: its incidents acknowledged or resolved", tags=["notifications"],
            body=PagerDutyDeliverySchema(), auth="pagerduty_signature",
            responses={200: (pagerduty_result_out, "Read; what it changed, if anything."),
                       400: (ErrorSchema(), "Signed, but not a PagerDuty v3 delivery."),
                       401: (ErrorSchema(), "Missing or wrong signature, or no secret stored on this webhook."),
                       404: (ErrorSchema(), "The path's id is not a whole number."),
                       413: (ErrorSchema(), "Body too large."), 429: (ErrorSchema(), "Too many requests.")})
def pagerduty_delivery(webhook_id: int) -> Any:
    """Where a PagerDuty v3 webhook subscription delivers (a pagerduty webhook's `pagerduty_webhook_url`):
    `incident.acknowledged` and `incident.resolved` of the alerts this webhook sent act on their Groundswell
    incidents in the PagerDuty user's name; anything else is ignored."""
    result = pagerduty_inbound.receive(db_session(), current_app.extensions["groundswell.log"], webhook_id,
                                       request.get_data(cache=True), request.headers.get("X-PagerDuty-Signature"),
                                       secret_key=_secret_key(), now=utcnow())
    return jsonify(pagerduty_result_out.dump(result))


@bp.delete("/settings/webhooks/<int:webhook_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Remove an incident webhook and its delivery log", tags=["notifications"], auth="api_token",
            responses={204: (None, "Removed; its pending deliveries are dropped."),
                       404: (ErrorSchema(), "No such webhook for this tenant."), **AUTH_ERRORS})
@require_token
def delete_webhook(tenant: Tenant, webhook_id: int) -> Any:
    service.delete_webhook(db_session(), tenant.id, webhook_id)
    return "", 204


@bp.get("/settings/webhooks/<int:webhook_id>/deliveries")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="An incident webhook's latest deliveries and how each went", tags=["notifications"],
            query=WebhookDeliveriesQuerySchema(), auth="api_token",
            responses={200: (webhook_deliveries_out, "Newest first: state, attempts, the receiver's status, error."),
                       400: (ErrorSchema(), "`limit` is out of range."),
                       404: (ErrorSchema(), "No such webhook for this tenant."), **AUTH_ERRORS})
@require_token
def webhook_deliveries(tenant: Tenant, webhook_id: int) -> Any:
    args = webhook_deliveries_query.load(request.args.to_dict())
    return jsonify(webhook_deliveries_out.dump(service.webhook_deliveries(db_session(), tenant.id, webhook_id,
                                                                          limit=args["limit"])))


@bp.post("/settings/webhooks/<int:webhook_id>/test")
@limiter.limit(_api_limit, key_func=_token_key)
@limiter.limit(TEST_LIMIT, key_func=_token_key)
@documented(summary="Send a test event to an incident webhook and report its answer", tags=["notifications"],
            auth="api_token",
            responses={200: (webhook_test_out, "The receiver's answer: `ok`, or its HTTP status and an error word."),
                       404: (ErrorSchema(), "No such webhook for this tenant."), **AUTH_ERRORS})
@require_token
def send_webhook_test(tenant: Tenant, webhook_id: int) -> Any:
    """The groundswell format gets a signed `ping` event; PagerDuty gets an `info` test alert that is
    resolved straight after."""
    answer = service.send_webhook_test(db_session(), tenant, webhook_id, _webhook_sender())
    return jsonify(webhook_test_out.dump(answer))


# -- mutes ----------------------------------------------------------------------------------------------
@bp.get("/mutes")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Notification mutes that are on", tags=["notifications"], auth="api_token",
            responses={200: (mute_list, "Ending soonest first."), **AUTH_ERRORS})
@require_token
def list_mutes(tenant: Tenant) -> Any:
    return jsonify(mute_list.dump(service.list_mutes(db_session(), tenant.id, now=utcnow())))


@bp.post("/mutes")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="Hold back an incident's or a series' notifications for a while", tags=["notifications"],
            body=MuteInSchema(), auth="api_token",
            responses={201: (mute_out, "The mute."),
                       400: (ErrorSchema(), "A field failed validation (`error.fields` names it), or the body is not a "
                                            "JSON object."),
                       404: (ErrorSchema(), "No such incident for this tenant."),
                       409: (ErrorSchema(), "The tenant already has the most mutes on at once."), **AUTH_ERRORS})
@require_token
def create_mute(tenant: Tenant) -> Any:
    """While it is on, Slack messages, webhook deliveries and PagerDuty events of the covered incidents are
    closed as `muted` when they come due, not sent later. Detection, the incidents page and the sidebar
    go on as before; a resolution is still sent where the opening was."""
    body = mute_in.load(json_body())
    return jsonify(mute_out.dump(service.create_mute(db_session(), tenant.id, body, now=utcnow()))), 201


@bp.delete("/mutes/<int:mute_id>")
@limiter.limit(_api_limit, key_func=_token_key)
@documented(summary="End a notification mute now", tags=["notifications"], auth="api_token",
            responses={204: (None, "Ended."), 404: (ErrorSchema(), "No such mute for this tenant."), **AUTH_ERRORS})
@require_token
def end_mute(tenant: Tenant, mute_id: int) -> Any:
    service.end_mute(db_session(), tenant.id, mute_id)
    return "", 204
