"""Webhooks, triggers, users and OAuth checks of the fake Zendesk, and the signed deliveries it sends.

The HTTP handlers here are mixed into `server.zendesk.fake.FakeZendesk`, which owns the state they
use (``webhooks``, ``webhook_secrets``, ``triggers``, ``deliveries``...). See that module for the
endpoints and how deliveries are sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's webhook signature: base64(HMAC-SHA256(secret, timestamp + body)).

    Examples
    --------
    >>> sign("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", "2026-01-01T00:00:00Z", b'{"ticket_id":"42"}')
    'C2XAkIdBu8uO89OssB4ME4csAlqkUJ88/fihVoHnSak='
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery the fake would send: where, the signed headers, the raw body."""

    url: str
    headers: dict[str, str]
    body: bytes


class HookRoutes:
    """Handlers for webhooks, triggers, ``users/me`` and ``oauth/tokens/current``, and trigger firing."""

    webhooks: dict[str, dict[str, Any]]
    webhook_secrets: dict[str, str]
    triggers: list[dict[str, Any]]
    deliveries: list[Delivery]
    delivery_results: list[int]
    auto_deliver: bool
    account_id: int
    email: str
    user_role: str
    _lock: Any
    _outbox: Any
    _ids: int

    def _auth_kind(self, header: str) -> str:  # pragma: no cover - defined by FakeZendesk
        raise NotImplementedError

    @property
    def base_url(self) -> str:  # pragma: no cover - defined by FakeZendesk
        raise NotImplementedError

    # -- webhooks and triggers ---------------------------------------------------------------

    def _create_webhook(self, request: Request) -> Response:
        data = _body(request, "webhook")
        if data is None:
            return _invalid("send {\"webhook\": {...}}")
        missing = [k for k in ("name", "status", "endpoint", "http_method", "request_format") if not data.get(k)]
        if missing:
            return _invalid(f"missing: {', '.join(missing)}")
        with self._lock:
            self._ids += 1
            webhook_id = f"01GS{self._ids:022d}"
            webhook = {**data, "id": webhook_id, "created_at": iso(datetime.now(timezone.utc))}
            webhook.pop("signing_secret", None)
            self.webhooks[webhook_id] = webhook
            self.webhook_secrets[webhook_id] = (data.get("signing_secret") or {}).get("secret") \
                or secrets.token_urlsafe(32)
        return _json({"webhook": webhook}, 201)

    def _list_webhooks(self, request: Request) -> Response:
        with self._lock:
            hooks = list(self.webhooks.values())
        return _json({"webhooks": hooks, "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                      "links": {"next": None, "prev": None}})

    def _show_webhook(self, request: Request, webhook_id: str) -> Response:
        webhook = self.webhooks.get(webhook_id)
        return _json({"webhook": webhook}) if webhook else _not_found()

    def _delete_webhook(self, request: Request, webhook_id: str) -> Response:
        with self._lock:
            if self.webhooks.pop(webhook_id, None) is None:
                return _not_found()
        return Response(status=204)

    def _webhook_secret(self, request: Request, webhook_id: str) -> Response:
        if webhook_id not in self.webhooks:
            return _not_found()
        return _json({"signing_secret": {"algorithm": "SHA256", "secret": self.webhook_secrets[webhook_id]}})

    def _create_trigger(self, request: Request) -> Response:
        data = _body(request, "trigger")
        if data is None or not data.get("title") or not isinstance(data.get("actions"), list):
            return _invalid("a trigger needs a title, conditions and actions")
        with self._lock:
            self._ids += 1
            trigger = {"active": True, **data, "id": self._ids, "created_at": iso(datetime.now(timezone.utc))}
            self.triggers.append(trigger)
        return _json({"trigger": trigger}, 201)

    def _list_triggers(self, request: Request) -> Response:
        with self._lock:
            found = list(self.triggers)
        return _json({"triggers": found, "next_page": None, "previous_page": None, "count": len(found)})

    def _show_trigger(self, request: Request, trigger_id: str) -> Response:
        trigger = next((t for t in self.triggers if t["id"] == int(trigger_id)), None)
        return _json({"trigger": trigger}) if trigger else _not_found()

    def _update_trigger(self, request: Request, trigger_id: str) -> Response:
        data = _body(request, "trigger")
        if data is None or ("actions" in data and not isinstance(data["actions"], list)):
            return _invalid("a trigger update needs a trigger object")
        with self._lock:
            trigger = next((t for t in self.triggers if t["id"] == int(trigger_id)), None)
            if trigger is None:
                return _not_found()
            trigger.update({k: v for k, v in data.items() if k not in ("id", "created_at")})
            trigger["updated_at"] = iso(datetime.now(timezone.utc))
        return _json({"trigger": trigger})

    def _delete_trigger(self, request: Request, trigger_id: str) -> Response:
        with self._lock:
            before = len(self.triggers)
            self.triggers = [t for t in self.triggers if t["id"] != int(trigger_id)]
            if len(self.triggers) == before:
                return _not_found()
        return Response(status=204)

    def _me(self, request: Request) -> Response:
        kind = self._auth_kind(request.headers.get("Authorization", ""))
        return _json({"user": {"id": 1, "name": "Admin", "email": self.email, "role": self.user_role,
                               "active": True, "url": f"{self.base_url}/api/v2/users/1.json",
                               "authenticated_by": kind}})

    def _current_token(self, request: Request) -> Response:
        if self._auth_kind(request.headers.get("Authorization", "")) != "oauth":
            return _json({"error": "Forbidden", "description": "not an OAuth token"}, 403)
        return _json({"token": {"id": 1, "user_id": 1, "client_id": 1, "scopes": ["read", "write"],
                                "token": "****"}})

    # -- deliveries --------------------------------------------------------------------------

    def _fire(self, ticket: dict[str, Any], created: bool = False) -> None:
        with self._lock:
            triggers = [t for t in self.triggers if t.get("active", True) and _matches(t, created)]
            made: list[Delivery] = []
            for trigger in triggers:
                for action in trigger.get("actions") or []:
                    value = action.get("value") if isinstance(action, dict) else None
                    if action.get("field") != "notification_webhook" or not isinstance(value, list) or len(value) != 2:
                        continue
                    webhook = self.webhooks.get(str(value[0]))
                    if webhook is None or webhook.get("status") != "active":
                        continue
                    body = _render(str(value[1]), ticket, getattr(self, "organizations", {})).encode()
                    stamp = iso(datetime.now(timezone.utc))
                    headers = {
                        "Content-Type": "application/json",
                        "X-Zendesk-Account-Id": str(self.account_id),
                        "X-Zendesk-Webhook-Id": webhook["id"],
                        "X-Zendesk-Webhook-Invocation-Id": secrets.token_hex(8),
                        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                        "X-Zendesk-Webhook-Signature": sign(self.webhook_secrets[webhook["id"]], stamp, body),
                    }
                    made.append(Delivery(str(webhook["endpoint"]), headers, body))
            if not self.auto_deliver:
                self.deliveries.extend(made)
        if self.auto_deliver:
            for d in made:
                self._outbox.put(d)

    def _deliver_loop(self) -> None:
        while True:
            delivery = self._outbox.get()
            if delivery is None:
                return
            try:
                status = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=10).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                self.delivery_results.append(status)


def _matches(trigger: dict[str, Any], created: bool) -> bool:
    """Only the ``update_type`` condition (``Create`` or ``Change``) is evaluated; others match."""
    conditions = trigger.get("conditions") or {}
    for cond in conditions.get("all") or [] if isinstance(conditions, dict) else []:
        if isinstance(cond, dict) and cond.get("field") == "update_type":
            if (cond.get("value") == "Create") != created:
                return False
    return True


def _render(template: str, ticket: dict[str, Any], organizations: dict[int, str] | None = None) -> str:
    values = {
        "ticket.id": str(ticket["id"]),
        "ticket.status": str(ticket.get("status") or "").capitalize(),
        "ticket.title": str(ticket.get("subject") or ""),
        "ticket.ticket_type": str(ticket.get("type") or "").capitalize(),
        "ticket.updated_at_with_timestamp": str(ticket.get("updated_at") or ""),
        "ticket.created_at_with_timestamp": str(ticket.get("created_at") or ""),
        "ticket.via": str((ticket.get("via") or {}).get("channel") or "").capitalize(),
        "ticket.description": str(ticket.get("description") or ""),
        "ticket.priority": str(ticket.get("priority") or "").capitalize(),
        "ticket.tags": " ".join(ticket.get("tags") or []),
        "ticket.requester.id": str(ticket.get("requester_id") or ""),
        "ticket.organization.id": str(ticket.get("organization_id") or ""),
        "ticket.organization.name": (organizations or {}).get(int(ticket.get("organization_id") or 0), ""),
    }
    # Like Zendesk's JSON body placeholders, values are JSON-escaped (without the quotes).
    return _PLACEHOLDER.sub(lambda m: json.dumps(values.get(m.group(1), ""))[1:-1], template)


def _body(request: Request, key: str) -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    inner = data.get(key) if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else None


def _not_found() -> Response:
    return _json({"error": "RecordNotFound", "description": "Not found"}, 404)


def _invalid(description: str) -> Response:
    return _json({"error": "RecordInvalid", "description": "Record validation errors",
                  "details": {"base": [{"description": description}]}}, 422)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
