"""Behind the notification-settings endpoints: show, change and try a tenant's Slack settings.

Secrets (the webhook URL, the bot token) go in encrypted and never come out: the view shows only
whether each is set, and the test reports Slack's status and error word, not its body.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from server.errors import BadRequest, Conflict, NotFound
from server.notify.client import SlackClient, SlackError, webhook_host_allowed
from server.notify.settings import (SettingsError, digest_settings, load_target, missing, public_view, slack_settings,
                                   store)
from server.notify.slack import check_message
from server.tenants import Tenant


def notification_settings(tenant: Tenant) -> dict[str, Any]:
    return {**public_view(slack_settings(tenant.settings)), "accounts_digest": digest_settings(tenant.settings)}


def digest_record(session: Session, tenant_id: int) -> dict[str, Any] | None:
    """The weekly accounts digest's last handled slot, as the detector recorded it (None before one)."""
    from server.accounts.models import AccountDigest
    from server.eventlog.log import as_utc

    row = session.get(AccountDigest, tenant_id)
    if row is None or (row.sent_at is None and row.error is None):  # a baseline, not a slot handled
        return None
    return {"slot": as_utc(row.last_slot), "sent_at": as_utc(row.sent_at) if row.sent_at else None,
            "accounts": row.accounts, "error": row.error}


def update_notification_settings(session: Session, tenant_id: int, changes: Mapping[str, Any], *, secret_key: str,
                                 webhook_hosts: frozenset[str]) -> dict[str, Any]:
    """Store validated ``changes``; 400 naming the field when the mode lacks what it needs."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    url = changes.get("webhook_url")
    if url and not webhook_host_allowed(url, webhook_hosts):
        allowed = ", ".join(sorted(webhook_hosts)) or "none"
        raise BadRequest("The webhook URL's host is not allowed.",
                         fields={"webhook_url": [f"must be an http(s) URL on {allowed} (SLACK_WEBHOOK_HOSTS)"]})
    slack = store(slack_settings(tenant.settings), {k: v for k, v in changes.items() if k != "accounts_digest"},
                  secret_key=secret_key)
    gaps = missing(slack)
    if gaps:
        raise BadRequest("The chosen mode needs more settings; `error.fields` names them.", fields=gaps)
    notify = dict((tenant.settings or {}).get("notify") or {})
    off = slack.get("mode", "off") == "off"
    if "accounts_digest" in changes:
        if changes["accounts_digest"] and off:
            raise BadRequest("The accounts digest is posted to Slack; choose a mode first.",
                             fields={"accounts_digest": ["needs mode webhook or web_api"]})
        notify["accounts_digest"] = changes["accounts_digest"]
    elif off:  # Slack turned off: nothing could carry the digest
        notify.pop("accounts_digest", None)
    notify["slack"] = slack
    tenant.settings = {**(tenant.settings or {}), "notify": notify}  # a new dict: JSON columns track assignment
    session.commit()
    return notification_settings(tenant)


def send_test(tenant: Tenant, *, secret_key: str, client: SlackClient, base_url: str | None) -> dict[str, Any]:
    """Send a test message with the stored settings and report Slack's answer."""
    slack = slack_settings(tenant.settings)
    try:
        target = load_target(slack, secret_key=secret_key)
    except SettingsError as e:
        raise Conflict(str(e)) from None
    if target is None:
        raise Conflict("Slack notifications are not configured: PUT /api/v1/settings/notifications first.")
    try:
        client.send(target, check_message(tenant.name, base_url))
    except SlackError as e:
        return {"ok": False, "mode": target.mode, "status": e.status, "error": e.code}
    return {"ok": True, "mode": target.mode, "status": 200, "error": None}
