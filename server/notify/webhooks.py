"""Outgoing incident webhooks: the same incident events as Slack (opened, grew, acknowledged, resolved, reopened),
POSTed as JSON to endpoints a tenant registers, in one of two formats.

- ``groundswell``: Groundswell's own body (the event's id and type, the tenant, the incident's
  snapshot with its evidence), signed with the endpoint's secret. The signature header is
  ``X-Groundswell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``; receivers
  recompute it over the raw body, compare in constant time and refuse old timestamps (:func:`verify`).
- ``pagerduty``: a PagerDuty Events API v2 event (``trigger`` for opened, grew and reopened,
  ``acknowledge`` for a person's acknowledgement, ``resolve`` for resolved) with one ``dedup_key`` per
  incident, so an incident is one PagerDuty alert that Groundswell acknowledges and resolves as the
  incident is acknowledged and resolved.

Delivery mirrors the Slack outbox (server/notify/outbox.py): :func:`enqueue_deliveries` adds one
``webhook_deliveries`` row per matching endpoint in the transaction that adds the notification row,
and a :class:`WebhookSender` thread in the detector process sends them, each endpoint's rows of one
incident in order, retrying with back-off and honouring ``Retry-After``. A delivery is at least once:
receivers deduplicate on the event ``id`` (also sent as ``X-Groundswell-Event-Id``).

Addresses: a URL must be https (``WEBHOOK_REQUIRE_HTTPS``) and resolve to public addresses only
(``WEBHOOK_ALLOW_PRIVATE``), checked when the endpoint is saved and again before each delivery, and
the address each connection actually reaches is checked once more (:class:`PublicOnlyAdapter`), so a
token holder cannot make the server call its own network (cloud metadata, databases, admin ports),
not even by changing a DNS answer between the check and the connection. An IPv6 address that leads to
an IPv4 one (IPv4-mapped, NAT64, 6to4, IPv4-compatible) is judged by that IPv4 address, and local-use
NAT64 (64:ff9b:1::/48) is refused. Redirects are never followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import threading
import time
from datetime import datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import requests
import requests.adapters
from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from server.config import flag
from server.crypto import labelled_fernet
from server.db import Database
from server.eventlog.log import as_utc
from server.incidents.models import Notification
from server.incidents.summaries import current_summary
from server.notify.client import retry_after
from server.notify.delivery import OutboxSender
from server.notify.models import WebhookDelivery, WebhookEndpoint
from server.tenants import Tenant
from server.workers import start_periodic

SIGNATURE_HEADER = "X-Groundswell-Signature"
SECRET_PREFIX = "gs_whsec_"
DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
#: Seconds a receiver should accept between the signature's timestamp and its clock.
SIGNATURE_TOLERANCE = 300
USER_AGENT = "Groundswell-Webhooks/1"
_LABEL = "groundswell/notify-webhooks/v1"


class UrlRefused(ValueError):
    """An endpoint URL Groundswell will not call; ``code`` is a short word for the API and the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DeliveryError(Exception):
    """One failed attempt: ``code`` is stored (never a URL or a secret); ``permanent`` skips retries."""

    def __init__(self, code: str, *, status: int | None = None, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code, self.status, self.permanent, self.retry_after = code, status, permanent, retry_after


# -- secrets and signatures --------------------------------------------------------------------------
def new_signing_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def encrypt_secret(value: str, *, secret_key: str) -> str:
    return labelled_fernet(secret_key, _LABEL).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, *, secret_key: str) -> str:
    try:
        return labelled_fernet(secret_key, _LABEL).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise DeliveryError("cannot_decrypt_secret") from None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds).

    >>> sign("gs_whsec_test", 1767225600, b'{"type":"ping"}')[:13]
    't=1767225600,'
    """
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: float = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does: True when ``header`` signs ``body`` with ``secret`` within ``tolerance`` s.

    >>> h = sign("gs_whsec_test", 1767225600, b"{}")
    >>> verify("gs_whsec_test", h, b"{}", now=1767225660), verify("gs_whsec_test", h, b"{ }", now=1767225660)
    (True, False)
    >>> verify("gs_whsec_test", h, b"{}", now=1767225600 + 301)
    False
    """
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- addresses ---------------------------------------------------------------------------------------
#: IPv6 ranges that carry an IPv4 address in their last 32 bits: NAT64's well-known prefix (RFC 6052) and
#: the deprecated IPv4-compatible addresses (RFC 4291). IPv4-mapped (::ffff:0:0/96) and 6to4 (2002::/16)
#: have their own helpers in ``ipaddress``.
_LOW_32_EMBEDDING = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
#: Local-use NAT64 (RFC 8215): the operator picks the prefix length, so where the IPv4 address sits is
#: unknown; it translates to the local network by purpose and is never called.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a translating or tunnelling IPv6 address leads to, if it is one of those.

    >>> [str(_embedded_ipv4(ipaddress.IPv6Address(a))) for a in
    ...  ("::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a00:1::1", "::7f00:1", "2606:4700::1111")]
    ['10.0.0.1', '169.254.169.254', '10.0.0.1', '127.0.0.1', 'None']
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _LOW_32_EMBEDDING):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(address: str) -> bool:
    """True when ``address`` is a global unicast address; an IPv6 address that embeds an IPv4 one
    (IPv4-mapped, NAT64, 6to4, IPv4-compatible) is judged by the IPv4 address it leads to.

    >>> _public("93.184.216.34"), _public("64:ff9b::5db8:d822"), _public("64:ff9b::a00:1")
    (True, True, False)
    >>> _public("2002:a9fe:a9fe::1"), _public("::a9fe:a9fe"), _public("64:ff9b:1::5db8:d822")
    (False, False, False)
    """
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        ip = _embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool = False, require_https: bool = True,
              resolve: Callable[..., Any] = socket.getaddrinfo) -> None:
    """Raise :class:`UrlRefused` unless Groundswell may POST to ``url``.

    >>> check_url("http://hooks.example.com/x")
    Traceback (most recent call last):
    ...
    server.notify.webhooks.UrlRefused: the URL must use https
    >>> check_url("https://169.254.169.254/latest/meta-data")
    Traceback (most recent call last):
    ...
    server.notify.webhooks.UrlRefused: the host resolves to a private or reserved address (169.254.169.254)
    >>> check_url("http://127.0.0.1:8080/hook", allow_private=True, require_https=False)
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise UrlRefused("bad_url", "the URL cannot be parsed") from None
    if parts.scheme not in ("http", "https") or not host:
        raise UrlRefused("bad_url", "the URL must be an http(s) URL with a host")
    if require_https and parts.scheme != "https":
        raise UrlRefused("https_required", "the URL must use https")
    if parts.username or parts.password:
        raise UrlRefused("bad_url", "the URL must not carry a user name or password")
    if allow_private:
        return
    try:
        infos = resolve(host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused("unresolvable", "the host does not resolve") from None
    for info in infos:
        address = str(info[4][0])
        if not _public(address):
            raise UrlRefused("address_not_allowed",
                             f"the host resolves to a private or reserved address ({address})")


class PeerRefused(Exception):
    """The connection reached a private or reserved address (a DNS answer changed after the check)."""


def _checked_connection(base: type) -> type:
    class Checked(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            address = str(sock.getpeername()[0])
            if not _public(address):
                sock.close()
                raise PeerRefused(address)
            return sock

    Checked.__name__ = f"PublicOnly{base.__name__}"
    return Checked


class PublicOnlyAdapter(requests.adapters.HTTPAdapter):
    """A transport that checks the address each new connection actually reached, after DNS, so an answer
    that changes between :func:`check_url` and the connection (DNS rebinding) cannot reach a private one."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PublicOnlyHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _checked_connection(HTTPConnection)}),
            "https": type("PublicOnlyHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _checked_connection(HTTPSConnection)}),
        }


# -- bodies ------------------------------------------------------------------------------------------
def _iso(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def _incident_url(base_url: str | None, incident_id: int) -> str | None:
    return f"{base_url.rstrip('/')}/incidents#id={incident_id}" if base_url else None


def event_id(tenant_id: int, incident_id: int, seq: int) -> str:
    """The id a receiver deduplicates on: one per incident event, the same for every endpoint and retry."""
    return f"evt_{tenant_id}_{incident_id}_{seq}"


def groundswell_body(tenant: Tenant, note: Notification, base_url: str | None,
                     summary: str | None = None) -> dict[str, Any]:
    incident = dict(note.payload or {})
    incident["url"] = _incident_url(base_url, note.incident_id)
    incident["llm_summary"] = summary
    return {"id": event_id(tenant.id, note.incident_id, note.seq), "type": f"incident.{note.event}",
            "created_at": _iso(note.created_at), "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name},
            "incident": incident}


def ping_body(tenant: Tenant, now: datetime) -> dict[str, Any]:
    return {"id": f"evt_ping_{secrets.token_hex(8)}", "type": "ping", "created_at": now.isoformat(),
            "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name}, "incident": None}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pagerduty_body(routing_key: str, tenant: Tenant, incident_id: int, event: str, payload: Mapping[str, Any],
                   base_url: str | None, summary: str | None = None) -> dict[str, Any]:
    """A PagerDuty Events API v2 event for one incident event (summary at most 1024 characters)."""
    dedup = f"groundswell-{tenant.id}-{incident_id}"
    if event in ("acknowledged", "resolved"):
        action = "acknowledge" if event == "acknowledged" else "resolve"
        return {"routing_key": routing_key, "event_action": action, "dedup_key": dedup}
    ev = payload.get("evidence") or {}
    title, sentence = str(payload.get("title") or "Incident"), str(payload.get("sentence") or "")
    details = {
        "event": event, "sentence": sentence, "kind": payload.get("kind"), "direction": payload.get("direction"),
        "observed": ev.get("observed"), "expected": ev.get("expected"), "band": [ev.get("lower"), ev.get("upper")],
        "measure": ev.get("measure"), "window_minutes": ev.get("window_minutes"), "p_value": payload.get("p_value"),
        "customers": payload.get("requester_count"), "accounts": payload.get("account_count"),
        "tickets": payload.get("ticket_count"), "top_terms": ev.get("top_terms"),
        "first_seen_at": _iso(payload.get("first_seen_at")), "release": ev.get("release"),
        "llm_summary": summary, "groundswell_incident_id": incident_id,
    }
    body: dict[str, Any] = {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup,
        "payload": {
            "summary": _clip(f"{title}: {sentence}" if sentence else title, 1024),
            "source": _clip(f"groundswell/{tenant.slug}", 255),
            "severity": "warning" if payload.get("kind") == "sentiment" else "error",
            "timestamp": _iso(payload.get("detected_at")),
            "component": _clip(str(ev.get("topic_label") or ev.get("series_label") or payload.get("series") or ""), 255),
            "group": _clip(str(payload.get("series") or ""), 255),
            "class": str(payload.get("kind") or ""),
            "custom_details": {k: v for k, v in details.items() if v is not None},
        },
        "client": "Groundswell",
    }
    url = _incident_url(base_url, incident_id)
    if url:
        body["client_url"] = url
        body["links"] = [{"href": url, "text": "Open in Groundswell"}]
    return body


# -- the outbox --------------------------------------------------------------------------------------
def enqueue_deliveries(session: Session, tenant_id: int, incident_id: int, seq: int, event: str,
                       payload: Mapping[str, Any], now: datetime) -> int:
    """Add a delivery row for each of the tenant's endpoints that wants this event and kind; how many."""
    added = 0
    for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)):
        if event not in (endpoint.events or ()) or (endpoint.kinds and payload.get("kind") not in endpoint.kinds):
            continue
        if session.get(WebhookDelivery, (endpoint.id, incident_id, seq)) is not None:
            continue
        if event == "acknowledged" and session.scalar(select(WebhookDelivery.seq).where(
                WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.incident_id == incident_id,
                WebhookDelivery.seq < seq).limit(1)) is None:
            continue  # registered (or widened) after the opening: an acknowledgement of what it never heard of
        session.add(WebhookDelivery(endpoint_id=endpoint.id, incident_id=incident_id, seq=seq, tenant_id=tenant_id,
                                    event=event, created_at=now, attempts=0, next_attempt_at=now))
        added += 1
    return added


class WebhookSender(OutboxSender):
    """Sends pending ``webhook_deliveries`` rows, each endpoint's rows of one incident in order.

    Parameters
    ----------
    db
        The database holding the deliveries, the endpoints and the notification rows they carry.
    secret_key
        Decrypts the endpoints' signing secrets and routing keys.
    base_url
        ``PUBLIC_URL``: bodies link to ``{base_url}/incidents#id=N``.
    allow_private, require_https
        The address rules of :func:`check_url`, applied again before every delivery.
    pagerduty_url
        The Events API endpoint (PagerDuty's EU service, or a test server).
    **outbox
        ``max_attempts``, ``retry_seconds``, ``max_backoff``, ``lease_seconds``, ``partition``,
        ``batch`` and ``clock``, as for :class:`~server.notify.delivery.OutboxSender`. A 429 pauses
        the endpoint.
    """

    model = WebhookDelivery
    group = ("endpoint_id", "incident_id")
    pause_by = "endpoint_id"
    noun = "webhook delivery"
    target = "webhook"

    def __init__(self, db: Database, *, secret_key: str, base_url: str | None = None,
                 http: requests.Session | None = None, timeout: float = 10.0, allow_private: bool = False,
                 require_https: bool = True, pagerduty_url: str = DEFAULT_PAGERDUTY_URL,
                 resolve: Callable[..., Any] = socket.getaddrinfo, **outbox: Any) -> None:
        super().__init__(db, **outbox)
        self.secret_key = secret_key
        self.base_url = base_url or None
        self.http = http or requests.Session()
        if not allow_private:
            for prefix in ("http://", "https://"):
                self.http.mount(prefix, PublicOnlyAdapter())
        self.timeout = timeout
        self.allow_private = allow_private
        self.require_https = require_https
        self.pagerduty_url = pagerduty_url
        self.resolve = resolve

    @classmethod
    def from_config(cls, db: Database, cfg: Mapping[str, Any], *, secret_key: str,
                    partition: tuple[int, int] = (0, 1)) -> WebhookSender:
        return cls(db, secret_key=secret_key, base_url=cfg["PUBLIC_URL"] or None,
                   timeout=float(cfg["WEBHOOK_TIMEOUT_SECONDS"]), allow_private=flag(cfg["WEBHOOK_ALLOW_PRIVATE"]),
                   require_https=flag(cfg["WEBHOOK_REQUIRE_HTTPS"]), pagerduty_url=str(cfg["PAGERDUTY_EVENTS_URL"]),
                   max_attempts=int(cfg["NOTIFY_MAX_ATTEMPTS"]), retry_seconds=float(cfg["NOTIFY_RETRY_SECONDS"]),
                   partition=partition)

    def _attempt(self, session: Session, row: Any) -> bool:
        endpoint = session.get(WebhookEndpoint, row.endpoint_id)
        tenant = session.get(Tenant, row.tenant_id)
        note = session.get(Notification, (row.tenant_id, row.incident_id, row.seq))
        try:
            if endpoint is None or tenant is None or note is None:
                raise DeliveryError("event_missing", permanent=True)
            summary = current_summary(session, row.tenant_id, row.incident_id)
            status = self.post(endpoint, self.body(endpoint, tenant, note, summary))
        except DeliveryError as e:
            row.last_status = e.status
            self._failed(row, e.code, permanent=e.permanent, retry_after=e.retry_after)
            return False
        self._delivered(row)
        row.last_status = status
        return True

    def body(self, endpoint: WebhookEndpoint, tenant: Tenant, note: Notification,
             summary: str | None = None) -> dict[str, Any]:
        """The request body for ``note``; ``summary`` is the incident's Claude summary when it has one."""
        if endpoint.format == "pagerduty":
            key = decrypt_secret(endpoint.secret_enc, secret_key=self.secret_key)
            return pagerduty_body(key, tenant, note.incident_id, note.event, note.payload or {}, self.base_url, summary)
        return groundswell_body(tenant, note, self.base_url, summary)

    def post(self, endpoint: WebhookEndpoint, body: Mapping[str, Any]) -> int:
        """POST ``body`` to the endpoint as its format wants; the HTTP status, or :class:`DeliveryError`."""
        try:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except ValueError:  # a NaN or infinity: not JSON, and no retry changes it
            raise DeliveryError("unserialisable_body", permanent=True) from None
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if endpoint.format == "pagerduty":
            url = self.pagerduty_url
        else:
            url = endpoint.url or ""
            try:
                check_url(url, allow_private=self.allow_private, require_https=self.require_https,
                          resolve=self.resolve)
            except UrlRefused as e:
                raise DeliveryError(e.code, permanent=e.code != "unresolvable") from None
            secret = decrypt_secret(endpoint.secret_enc, secret_key=self.secret_key)
            headers[SIGNATURE_HEADER] = sign(secret, int(self.clock().timestamp()), data)
            headers["X-Groundswell-Event"] = str(body.get("type"))
            headers["X-Groundswell-Event-Id"] = str(body.get("id"))
        try:
            response = self.http.post(url, data=data, headers=headers, timeout=self.timeout, allow_redirects=False)
        except PeerRefused:
            raise DeliveryError("address_not_allowed", permanent=True) from None
        except requests.Timeout:
            raise DeliveryError("timeout") from None
        except requests.ConnectionError:
            raise DeliveryError("connection_error") from None
        except requests.RequestException as e:
            raise DeliveryError(type(e).__name__) from None
        status = response.status_code
        response.close()
        if 200 <= status < 300:
            return status
        if status == 429:
            raise DeliveryError("http_429", status=status, retry_after=retry_after(response.headers))
        if 300 <= status < 400:
            raise DeliveryError("redirect_not_followed", status=status)
        # PagerDuty answers 400 to an event it will never accept; a receiver's 4xx may be fixed on its side
        raise DeliveryError(f"http_{status}", status=status, permanent=endpoint.format == "pagerduty" and status == 400)

    def ping(self, endpoint: WebhookEndpoint, tenant: Tenant) -> dict[str, Any]:
        """Send a test event now and report the answer: a ``ping`` (groundswell format), or for PagerDuty a
        low-severity test alert resolved straight after."""
        now = self.clock()
        try:
            if endpoint.format == "pagerduty":
                key = decrypt_secret(endpoint.secret_enc, secret_key=self.secret_key)
                test = {"title": "Groundswell test event", "sentence": "Sent from the webhook settings; resolved at once.",
                        "kind": "test", "series": "test", "detected_at": now}
                body = pagerduty_body(key, tenant, 0, "opened", test, None)
                body["dedup_key"] = f"groundswell-{tenant.id}-test-{secrets.token_hex(4)}"
                body["payload"]["severity"] = "info"
                status = self.post(endpoint, body)
                self.post(endpoint, {"routing_key": key, "event_action": "resolve", "dedup_key": body["dedup_key"]})
            else:
                status = self.post(endpoint, ping_body(tenant, now))
        except DeliveryError as e:
            return {"ok": False, "status": e.status, "error": e.code}
        return {"ok": True, "status": status, "error": None}


def start_worker(sender: WebhookSender, *, interval: float = 5.0,
                 stop: threading.Event | None = None) -> threading.Thread:
    """Run ``sender.run_once`` every ``interval`` seconds in a daemon thread."""
    return start_periodic("webhooks", sender.run_once, interval=interval, stop=stop)
