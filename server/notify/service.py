"""Behind the notification-settings endpoints: show, change and try a tenant's Slack settings.

Secrets (the webhook URL, the bot token) go in encrypted and never come out: the view shows only
whether each is set, and the test reports Slack's status and error word, not its body.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from server.errors import BadRequest, Conflict, NotFound
from server.eventlog.log import as_utc
from server.incidents.models import Incident, Notification
from server.notify.client import SlackClient, SlackError, webhook_host_allowed
from server.notify.models import NotificationMute, WebhookDelivery, WebhookEndpoint
from server.notify.mutes import MUTED, NOT_CONFIGURED, mute_view
from server.notify.settings import (SettingsError, digest_settings, load_target, missing, public_view, slack_settings,
                                   store)
from server.notify.slack import EVENTS, check_message
from server.notify.webhooks import UrlRefused, check_url, encrypt_secret, event_id, new_signing_secret
from server.tenants import Tenant


def notification_settings(tenant: Tenant) -> dict[str, Any]:
    return {**public_view(slack_settings(tenant.settings)), "accounts_digest": digest_settings(tenant.settings)}


def digest_record(session: Session, tenant_id: int) -> dict[str, Any] | None:
    """The weekly accounts digest's last handled slot, as the detector recorded it (None before one)."""
    from server.accounts.models import AccountDigest

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
                         fields={"webhook_url": [f"must be an https URL on {allowed} (SLACK_WEBHOOK_HOSTS)"]})
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


# -- outgoing incident webhooks ------------------------------------------------------------------------
#: Endpoints a tenant may register.
MAX_WEBHOOKS = 10


def _endpoint(session: Session, tenant_id: int, endpoint_id: int) -> Any:
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id < 2**31 else None
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise NotFound(f"No webhook {endpoint_id}.")
    return endpoint


def _delivery_view(row: Any) -> dict[str, Any]:
    return {"incident_id": row.incident_id, "seq": row.seq, "event": row.event,
            "event_id": event_id(row.tenant_id, row.incident_id, row.seq), "state": _state(row.sent_at, row.last_error),
            "created_at": as_utc(row.created_at), "attempts": row.attempts,
            "next_attempt_at": as_utc(row.next_attempt_at) if row.sent_at is None and row.next_attempt_at else None,
            "sent_at": as_utc(row.sent_at) if row.sent_at else None, "status": row.last_status,
            "error": row.last_error}


_TOKEN_LIKE = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")


def shown_url(url: str | None) -> str | None:
    """A webhook URL as the API and pages show it: without a user and password, its query string, or
    path segments that look like tokens (16 or more letters, digits, ``-`` or ``_`` with both letters and
    digits), of which the last four characters stay; receivers that carry a secret in the URL keep it.

    >>> shown_url("https://ops:pw@ops.example.com/hooks/T0AB12CD/aZ3kQ9pLm2Xy7Rt4Uv8W?token=abc#x")
    'https://ops.example.com/hooks/T0AB12CD/…Uv8W?…'
    >>> shown_url("https://ops.example.com/hooks/incident-notifications")
    'https://ops.example.com/hooks/incident-notifications'
    """
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    path = "/".join("…" + seg[-4:] if _TOKEN_LIKE.fullmatch(seg) else seg for seg in parts.path.split("/"))
    return urlunsplit((parts.scheme, netloc, path, "…" if parts.query else "", ""))


#: Why a delivery was closed without being sent (a mute, or Slack's "not set up"): a skip, not an attempt.
_SKIPS = (MUTED, NOT_CONFIGURED)


def webhook_view(session: Session, endpoint: Any) -> dict[str, Any]:
    """The endpoint as the API shows it (never its secret): how many deliveries wait, the one that holds
    them up when it keeps failing (``failing``), the last delivery actually attempted (``last_delivery``:
    sent, or given up on) and the last one held back without an attempt (``last_skipped``: muted)."""
    d = WebhookDelivery
    mine, waiting, closed = d.endpoint_id == endpoint.id, d.sent_at.is_(None), d.sent_at.is_not(None)
    newest = (d.sent_at.desc(), d.incident_id.desc(), d.seq.desc())
    pending = session.scalar(select(func.count()).where(mine, waiting)) or 0
    last = session.scalars(select(d).where(mine, closed, or_(d.last_error.is_(None), d.last_error.not_in(_SKIPS)))
                           .order_by(*newest).limit(1)).first()
    skipped = session.scalars(select(d).where(mine, closed, d.last_error.in_(_SKIPS))
                              .order_by(*newest).limit(1)).first()
    # the oldest waiting delivery whose last attempt failed: retried, it holds up its incident's later events
    failing = session.scalars(select(d).where(mine, waiting, d.last_error.is_not(None))
                              .order_by(d.created_at, d.incident_id, d.seq).limit(1)).first()
    failed = 0 if failing is None else session.scalar(
        select(func.count()).where(mine, waiting, d.last_error.is_not(None))) or 0
    return {"id": endpoint.id, "format": endpoint.format, "url": shown_url(endpoint.url), "events": list(endpoint.events),
            "kinds": list(endpoint.kinds) if endpoint.kinds else None, "description": endpoint.description,
            "created_at": as_utc(endpoint.created_at), "secret_hint": endpoint.secret_hint, "pending": pending,
            "pagerduty_webhook_url": (f"/api/v1/webhooks/pagerduty/{endpoint.id}" if endpoint.format == "pagerduty"
                                      else None),
            "pagerduty_webhook_secret_set": bool(endpoint.inbound_secret_enc),
            "last_delivery": None if last is None else {
                "incident_id": last.incident_id, "event": last.event, "at": as_utc(last.sent_at),
                "ok": last.last_error is None, "status": last.last_status, "error": last.last_error},
            "last_skipped": None if skipped is None else {
                "incident_id": skipped.incident_id, "event": skipped.event, "at": as_utc(skipped.sent_at),
                "reason": _state(skipped.sent_at, skipped.last_error)},
            "failing": None if failing is None else {
                "incident_id": failing.incident_id, "event": failing.event, "created_at": as_utc(failing.created_at),
                "attempts": failing.attempts, "status": failing.last_status, "error": failing.last_error,
                "next_attempt_at": as_utc(failing.next_attempt_at) if failing.next_attempt_at else None,
                "others": max(0, failed - 1)}}


def list_webhooks(session: Session, tenant_id: int) -> dict[str, Any]:
    rows = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
                           .order_by(WebhookEndpoint.id)).all()
    return {"webhooks": [webhook_view(session, e) for e in rows]}


def create_webhook(session: Session, tenant_id: int, body: Mapping[str, Any], *, secret_key: str, now: Any,
                   allow_private: bool, require_https: bool) -> dict[str, Any]:
    """Register an endpoint; the answer carries the signing secret (groundswell format), shown only here."""
    count = session.scalar(select(func.count()).where(WebhookEndpoint.tenant_id == tenant_id)) or 0
    if count >= MAX_WEBHOOKS:
        raise Conflict(f"A tenant has at most {MAX_WEBHOOKS} webhooks; delete one first.")
    if body["format"] == "pagerduty":
        secret, url = body["routing_key"], None
    else:
        url = body["url"]
        try:
            check_url(url, allow_private=allow_private, require_https=require_https)
        except UrlRefused as e:
            raise BadRequest("Groundswell will not call this URL.", fields={"url": [str(e)]}) from None
        secret = new_signing_secret()
    endpoint = WebhookEndpoint(tenant_id=tenant_id, format=body["format"], url=url,
                               secret_enc=encrypt_secret(secret, secret_key=secret_key), secret_hint=secret[-4:],
                               events=[e for e in EVENTS if e in body["events"]],
                               kinds=sorted(set(body["kinds"])) if body.get("kinds") else None,
                               description=body.get("description"), created_at=now,
                               inbound_secret_enc=(encrypt_secret(body["pagerduty_webhook_secret"], secret_key=secret_key)
                                                   if body.get("pagerduty_webhook_secret") else None))
    session.add(endpoint)
    session.commit()
    view = webhook_view(session, endpoint)
    if body["format"] == "groundswell":
        view["signing_secret"] = secret
    return view


def update_webhook(session: Session, tenant_id: int, endpoint_id: int, body: Mapping[str, Any], *,
                   secret_key: str) -> dict[str, Any]:
    """Change what is given: the events and kinds sent, the description, and a pagerduty endpoint's
    PagerDuty webhook secret (null removes it; 400 for another format). Later events follow the change."""
    endpoint = _endpoint(session, tenant_id, endpoint_id)
    if "pagerduty_webhook_secret" in body:
        if endpoint.format != "pagerduty":
            raise BadRequest("Only a pagerduty webhook takes a PagerDuty webhook secret.",
                             fields={"pagerduty_webhook_secret": ["only for the pagerduty format"]})
        value = body["pagerduty_webhook_secret"]
        endpoint.inbound_secret_enc = encrypt_secret(value, secret_key=secret_key) if value else None
    if "events" in body:
        endpoint.events = [e for e in EVENTS if e in body["events"]]
    if "kinds" in body:
        endpoint.kinds = sorted(set(body["kinds"])) if body["kinds"] else None
    if "description" in body:
        endpoint.description = body["description"]
    session.commit()
    return webhook_view(session, endpoint)


def delete_webhook(session: Session, tenant_id: int, endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log (pending deliveries are dropped)."""
    endpoint = _endpoint(session, tenant_id, endpoint_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.commit()


def webhook_deliveries(session: Session, tenant_id: int, endpoint_id: int, *, limit: int) -> dict[str, Any]:
    """The endpoint's latest deliveries, newest first."""
    d = WebhookDelivery
    endpoint = _endpoint(session, tenant_id, endpoint_id)
    rows = session.scalars(select(d).where(d.endpoint_id == endpoint.id)
                           .order_by(d.created_at.desc(), d.incident_id.desc(), d.seq.desc()).limit(limit)).all()
    return {"deliveries": [_delivery_view(r) for r in rows]}


def send_webhook_test(session: Session, tenant: Tenant, endpoint_id: int, sender: Any) -> dict[str, Any]:
    """Send a test event to one endpoint now (``sender``: a :class:`server.notify.webhooks.WebhookSender`)."""
    return dict(sender.ping(_endpoint(session, tenant.id, endpoint_id), tenant))


# -- mutes ----------------------------------------------------------------------------------------------
#: Active mutes a tenant may have at once.
MAX_MUTES = 100


def list_mutes(session: Session, tenant_id: int, *, now: datetime) -> dict[str, Any]:
    """The mutes still on at ``now``, ending soonest first."""
    rows = session.scalars(select(NotificationMute).where(NotificationMute.tenant_id == tenant_id,
                                                          NotificationMute.until > now)
                           .order_by(NotificationMute.until, NotificationMute.id)).all()
    return {"mutes": [mute_view(m) for m in rows]}


def create_mute(session: Session, tenant_id: int, body: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """Hold back notifications for one incident (which must exist) or one series, for ``hours`` or
    until ``until``."""
    if body.get("incident_id") is not None and session.get(Incident, (tenant_id, body["incident_id"])) is None:
        raise NotFound(f"No incident {body['incident_id']}.")
    until = body.get("until") or now + timedelta(hours=body["hours"])
    if as_utc(until) <= now:
        raise BadRequest("A mute must end in the future.", fields={"until": ["must be later than now"]})
    active = session.scalar(select(func.count()).where(NotificationMute.tenant_id == tenant_id,
                                                       NotificationMute.until > now)) or 0
    if active >= MAX_MUTES:
        raise Conflict(f"A tenant has at most {MAX_MUTES} mutes on at once; end one first.")
    mute = NotificationMute(tenant_id=tenant_id, incident_id=body.get("incident_id"), series=body.get("series"),
                            until=until, reason=body.get("reason"), created_by=body.get("by"), created_at=now)
    session.add(mute)
    session.commit()
    return mute_view(mute)


def end_mute(session: Session, tenant_id: int, mute_id: int) -> None:
    mute = session.get(NotificationMute, mute_id) if 0 < mute_id < 2**31 else None
    if mute is None or mute.tenant_id != tenant_id:
        raise NotFound(f"No mute {mute_id}.")
    session.delete(mute)
    session.commit()


# -- an incident's notifications ------------------------------------------------------------------------
def _state(sent_at: Any, last_error: str | None) -> str:
    if sent_at is None:
        return "pending"
    if last_error is None:
        return "delivered"
    return {"muted": "muted", "not configured": "not_configured"}.get(last_error, "failed")


def incident_notifications(session: Session, tenant_id: int, incident_id: int) -> list[dict[str, Any]]:
    """What was sent about one incident, oldest first: each event and how it went to Slack and to each
    webhook (``state``: pending, delivered, failed, muted or not_configured)."""
    notes = session.scalars(select(Notification).where(Notification.tenant_id == tenant_id,
                                                       Notification.incident_id == incident_id)
                            .order_by(Notification.seq)).all()
    if not notes:
        return []
    endpoints = {e.id: e for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id))}
    hooks: dict[int, list[dict[str, Any]]] = {}
    for d in session.scalars(select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id,
                                                           WebhookDelivery.incident_id == incident_id)
                             .order_by(WebhookDelivery.endpoint_id)):
        endpoint = endpoints.get(d.endpoint_id)
        hooks.setdefault(d.seq, []).append({
            "webhook_id": d.endpoint_id, "format": endpoint.format if endpoint else None,
            "description": endpoint.description if endpoint else None, "state": _state(d.sent_at, d.last_error),
            "attempts": d.attempts, "status": d.last_status, "error": d.last_error,
            "at": as_utc(d.sent_at) if d.sent_at else None})
    return [{"seq": n.seq, "event": n.event, "created_at": as_utc(n.created_at),
             "slack": {"state": _state(n.sent_at, n.last_error), "attempts": n.attempts, "error": n.last_error,
                       "at": as_utc(n.sent_at) if n.sent_at else None},
             "webhooks": hooks.get(n.seq, [])} for n in notes]
