"""Connecting a tenant to its Zendesk account: credentials, webhook, triggers, then the backfill.

`install` is what ``groundswell zendesk install`` and ``PUT /api/v1/settings/zendesk/connection`` run:

1. store the connection (API token or marketplace OAuth token, encrypted) and check it with
   ``GET /api/v2/users/me`` (the user must be an admin: webhooks, triggers and exports need one);
2. make sure the account has one active webhook pointing at ``{PUBLIC_URL}/webhooks/zendesk/<slug>``
   (the stored one, else one already pointing there, else a new one), fetch its signing secret with
   ``GET /api/v2/webhooks/{id}/signing_secret`` and store it as the tenant's webhook secret, so
   Zendesk's signatures verify;
3. make sure the two triggers exist (matched by title): "ticket created" and "ticket updated", each
   sending the small JSON body below to the webhook;
4. the caller then starts the ticket backfill (`server.zendesk.backfill.run_backfill`).

Every step looks before it creates, so running it again changes nothing but the stored credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.orm import Session

from server.tenants import Tenant, rotate
from server.zendesk.client import ZendeskError
from server.zendesk.connection import Marketplace, client_for, connect
from server.zendesk.problems import call

WEBHOOK_NAME = "Groundswell"
#: The trigger body: small, the ticket's text and the fields the detector segments by. Placeholders
#: are filled in by Zendesk; the webhook ingest accepts this shape (``ticket_id`` at least).
_FIELDS = {
    "ticket_id": "{{ticket.id}}", "subject": "{{ticket.title}}", "description": "{{ticket.description}}",
    "status": "{{ticket.status}}", "priority": "{{ticket.priority}}", "ticket_type": "{{ticket.ticket_type}}",
    "via": "{{ticket.via}}", "tags": "{{ticket.tags}}", "requester_id": "{{ticket.requester.id}}",
    "organization_id": "{{ticket.organization.id}}", "organization_name": "{{ticket.organization.name}}",
    "created_at": "{{ticket.created_at_with_timestamp}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}",
}
TRIGGERS = (
    ("Groundswell: ticket created", "Create", "created"),
    ("Groundswell: ticket updated", "Change", "updated"),
)


@dataclass
class InstallResult:
    """What the install found or made."""

    webhook_id: str
    webhook_created: bool
    trigger_ids: list[int]
    triggers_created: int
    sidebar_secret: str | None = None  # in clear, only when made now
    #: Triggers found pointing at the webhook with an older body, given the current one.
    triggers_updated: int = 0


def trigger_body(event: str) -> str:
    """The JSON a trigger sends for ``event`` (``created`` or ``updated``), placeholders unrendered.

    Examples
    --------
    >>> json.loads(trigger_body("created"))["ticket_id"]
    '{{ticket.id}}'
    """
    return json.dumps({**_FIELDS, "event": event})


def webhook_url(public_url: str, slug: str) -> str:
    return f"{public_url.rstrip('/')}/webhooks/zendesk/{slug}"


def install(session: Session, tenant: Tenant, *, subdomain: str, public_url: str, secret_key: str,
            now: datetime, email: str | None = None, token: str | None = None, oauth_token: str | None = None,
            marketplace: Marketplace | None = None, timeout: float = 10.0,
            make_client: Callable[..., Any] = client_for) -> InstallResult:
    """Connect ``tenant`` to Zendesk and set up its webhook and triggers; commits. Idempotent.

    Raises `ConnectionInvalid` for unusable details and `ZendeskError` when Zendesk refuses or
    fails; then nothing is stored (what was already made in Zendesk is found again on the next run).
    """
    from sqlalchemy import select

    from server.zendesk.sidebar_auth import rotate_sidebar_secret, sidebar_secret

    conn = connect(session, tenant.id, subdomain=subdomain, secret_key=secret_key, now=now, email=email,
                   token=token, oauth_token=oauth_token, marketplace=marketplace)
    zd = make_client(conn, secret_key=secret_key, marketplace=marketplace, timeout=timeout)
    me = call("read the connected user", lambda: zd.users.me())
    if getattr(me, "role", None) != "admin":
        session.rollback()
        raise ZendeskError("the connected Zendesk user is not an admin; webhooks, triggers and the ticket export "
                           "need an admin's API token or OAuth grant")
    endpoint = webhook_url(public_url, tenant.slug)
    webhook_id, created = _ensure_webhook(zd, conn.webhook_id, endpoint)
    secret = call("read the webhook's signing secret", lambda: zd.webhooks.show_secret(webhook_id))
    value = getattr(secret, "secret", None)
    if not isinstance(value, str) or not value:
        raise ZendeskError("Zendesk's answer did not carry the webhook's signing secret")
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant.id).with_for_update()) or tenant
    rotate(tenant, secret_key=secret_key, webhook_secret_value=value)
    trigger_ids, made, upgraded = _ensure_triggers(zd, webhook_id)
    new_secret = None
    if sidebar_secret(tenant, secret_key=secret_key) is None:
        new_secret = rotate_sidebar_secret(tenant, secret_key=secret_key)
    conn.webhook_id, conn.trigger_ids, conn.installed_at, conn.updated_at = webhook_id, trigger_ids, now, now
    session.commit()
    return InstallResult(webhook_id=webhook_id, webhook_created=created, trigger_ids=trigger_ids,
                         triggers_created=made, sidebar_secret=new_secret, triggers_updated=upgraded)


def _ensure_webhook(zd: Any, stored_id: str | None, endpoint: str) -> tuple[str, bool]:
    from zenpy.lib.api_objects import Webhook

    existing = list(call("list webhooks", lambda: list(zd.webhooks.list())))
    for hook in existing:
        if stored_id and getattr(hook, "id", None) == stored_id and getattr(hook, "endpoint", None) == endpoint:
            return str(hook.id), False
    for hook in existing:
        if getattr(hook, "endpoint", None) == endpoint and getattr(hook, "status", None) == "active":
            return str(hook.id), False
    made = call("create the webhook", lambda: zd.webhooks.create(Webhook(
        name=WEBHOOK_NAME, status="active", endpoint=endpoint, http_method="POST", request_format="json",
        subscriptions=["conditional_ticket_events"])))
    return str(made.id), True


def _ensure_triggers(zd: Any, webhook_id: str) -> tuple[list[int], int, int]:
    """The triggers' ids, how many were made and how many had their body brought up to date (a trigger
    an earlier version installed sends fewer fields, the organization's name among them)."""
    from zenpy.lib.api_objects import Trigger

    existing = {getattr(t, "title", None): t for t in call("list triggers", lambda: list(zd.triggers()))}
    ids, made, upgraded = [], 0, 0
    for title, update_type, event in TRIGGERS:
        actions = [{"field": "notification_webhook", "value": [webhook_id, trigger_body(event)]}]
        current = existing.get(title)
        if current is not None and _points_at(current, webhook_id):
            if _body_of(current) != trigger_body(event):
                current.actions = actions
                call("update a trigger", lambda: zd.triggers.update(current))
                upgraded += 1
            ids.append(int(current.id))
            continue
        trigger = call("create a trigger", lambda: zd.triggers.create(Trigger(
            title=title, active=True, actions=actions,
            conditions={"all": [{"field": "update_type", "operator": "is", "value": update_type}], "any": []})))
        ids.append(int(trigger.id))
        made += 1
    return ids, made, upgraded


def _body_of(trigger: Any) -> str | None:
    """The JSON body of the trigger's webhook action."""
    for action in getattr(trigger, "actions", None) or []:
        value = action.get("value") if isinstance(action, dict) else getattr(action, "value", None)
        if isinstance(value, list) and len(value) == 2:
            return str(value[1])
    return None


def _points_at(trigger: Any, webhook_id: str) -> bool:
    for action in getattr(trigger, "actions", None) or []:
        value = action.get("value") if isinstance(action, dict) else getattr(action, "value", None)
        field = action.get("field") if isinstance(action, dict) else getattr(action, "field", None)
        if field == "notification_webhook" and isinstance(value, list) and value and str(value[0]) == webhook_id:
            return True
    return False
