"""Ingest: authenticate, validate and append deliveries to the event log.

Nothing here waits for a model: an accepted delivery is a committed row in the log and the
detector picks it up from there. Functions take everything they need as arguments (session,
log, clock, secrets) so they run the same in a request, a test or a tool.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from server.errors import BadRequest, Forbidden, Unauthorized
from server.eventlog import AppendResult, NewEvent
from server.eventlog.group import GroupCommitter
from server.ingest import signing
from server.ingest.schemas import widget_batch_schema, zendesk_event_schema, zendesk_trigger_schema
from server.tenants import Tenant, find_by_site_key, find_by_slug, webhook_secret
from server.tenants.service import TenantError, origin_forms
from server.validation import MAX_DEPTH, TooDeep, storable, storable_text

#: How far in the past a widget event's client time may lie before it is clamped.
MAX_CLIENT_AGE = timedelta(hours=24)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
#: A Zendesk event's own time outside these bounds is garbage: the receive time stands in for it.
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class WebhookContext:
    """What the transport knows about a Zendesk delivery besides its body."""

    signature: str | None
    timestamp: str | None
    invocation_id: str | None = None
    webhook_id: str | None = None
    account_id: str | None = None


def parse_json(body: bytes) -> Any:
    if not body:
        raise BadRequest("The request body is empty; send a JSON object.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"The request body is not valid JSON ({type(e).__name__}).") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None


def storable_body(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as PostgreSQL stores it (see `server.validation.storable`): NUL dropped, lone
    surrogates made U+FFFD, NaN and infinities made null. Both ingest paths store what they receive
    this way, before validating it, so a client's stray byte costs it nothing and never a 500."""
    try:
        return storable(data)  # type: ignore[no-any-return]
    except TooDeep:
        raise BadRequest(f"The request body is nested deeper than {MAX_DEPTH} levels.") from None


def zendesk_event_time(time: datetime, received_at: datetime) -> datetime:
    """Event time of an event-subscribed delivery: its ``time``, but never after ``received_at``, and
    the receive time when ``time`` lies outside 1990-2199 (the bounds ticket times are read with).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> rx = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    >>> zendesk_event_time(rx - timedelta(seconds=3), rx) == rx - timedelta(seconds=3)
    True
    >>> early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))  # not even in UTC's range
    >>> zendesk_event_time(early, rx) == zendesk_event_time(datetime(1970, 1, 1, tzinfo=timezone.utc), rx) == rx
    True
    """
    try:
        t = time.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return received_at
    return min(received_at, t) if _EARLIEST <= t < _LATEST else received_at


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def origin_allowed(tenant: Tenant, origin: str | None) -> bool:
    if not origin:
        return False
    try:
        forms = origin_forms(origin)
    except TenantError:
        return False
    allowed = tenant.allowed_origins or []
    return any(form in allowed for form in forms)


def widget_event_time(ts_ms: int, sent_at_ms: int | None, received_at: datetime) -> datetime:
    """Event time of a widget event, in the server's clock, bounded by the receive time.

    The client clock may be wrong; when the batch says when it was sent, the event's age at
    sending is kept and the clock offset drops out. The result is never after ``received_at``
    nor more than a day before it.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> rx = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    >>> # client clock one hour fast, event 5 s before sending:
    >>> widget_event_time(1767272400000 - 5000, 1767272400000, rx).isoformat()
    '2026-01-01T11:59:55+00:00'
    >>> widget_event_time(1767276000000, None, rx) == rx  # future client time is clamped
    True
    >>> widget_event_time(2**53, None, rx) == rx and widget_event_time(0, 2**53, rx) == rx - MAX_CLIENT_AGE
    True
    """
    # In whole microseconds and clamped before any datetime arithmetic: no client number overflows it.
    if sent_at_ms is not None:
        age_us = (sent_at_ms - ts_ms) * 1000
    else:
        age_us = (received_at - _EPOCH) // _US - ts_ms * 1000
    age_us = min(max(age_us, 0), MAX_CLIENT_AGE // _US)
    return received_at - timedelta(microseconds=age_us)


def authenticate_widget(session: Session, site_key: str | None, origin: str | None) -> Tenant:
    if not site_key:
        raise Forbidden("Missing site key: send X-Groundswell-Site-Key or site_key in the body.")
    tenant = find_by_site_key(session, site_key)
    if tenant is None:
        raise Forbidden("Unknown site key.")
    if not origin_allowed(tenant, origin):
        raise Forbidden("This origin is not allowed for the site key; add it to the tenant's allowlist.")
    return tenant


def ingest_widget_batch(session: Session, log: GroupCommitter, body: bytes, *, header_site_key: str | None,
                        origin: str | None, received_at: datetime, max_events: int,
                        tenant: Tenant | None = None) -> tuple[Tenant, AppendResult]:
    """Validate and append one widget batch; returns the tenant and the append counts.

    ``tenant``: the tenant the caller already authenticated this request as, by the same site key and
    origin (the rate limiter's key function does, before the view runs); None to authenticate here."""
    data = storable_body(_object(parse_json(body)))
    if tenant is None:
        site_key = header_site_key or (data.get("site_key") if isinstance(data.get("site_key"), str) else None)
        tenant = authenticate_widget(session, site_key, origin)
    batch = widget_batch_schema.load(data)
    if len(batch["events"]) > max_events:
        raise BadRequest("Too many events in one batch.",
                         fields={"events": [f"at most {max_events} events per batch"]})
    session_id = batch["session_id"]
    sent_at = batch.get("sent_at")
    events = []
    for ev in batch["events"]:
        payload = dict(ev, session_id=session_id)
        events.append(NewEvent(
            source="widget",
            kind=f"widget.{ev['type']}",
            idempotency_key=f"{session_id}/{ev['id']}",  # "/" is in neither id: one key, one event
            event_time=widget_event_time(ev["ts"], sent_at, received_at),
            payload=payload,
        ))
    tenant_id = tenant.id  # read before the rollback, which expires it (reading it after is a query)
    session.rollback()  # end the read transaction of the lookups before waiting on the append
    return tenant, log.append(tenant_id, events, received_at)


def ingest_zendesk_delivery(session: Session, log: GroupCommitter, slug: str, body: bytes, ctx: WebhookContext, *,
                            received_at: datetime, secret_key: str, tolerance_seconds: int = 300,
                            allow_test_secret: bool = False,
                            tenant: Tenant | None = None) -> tuple[Tenant, AppendResult]:
    """Verify, validate and append one Zendesk webhook delivery.

    ``tenant``: the tenant whose webhook secret the caller already found signed this very body (the rate
    limiter's key function does, before the view runs); None to look the tenant up and verify here."""
    if tenant is None:
        tenant = verify_zendesk_delivery(session, slug, body, ctx, now=received_at, secret_key=secret_key,
                                         tolerance_seconds=tolerance_seconds, allow_test_secret=allow_test_secret)
    data = storable_body(_object(parse_json(body)))
    if isinstance(data.get("type"), str) and data["type"].startswith("zen:event-type:"):
        loaded = zendesk_event_schema.load(data)
        kind = data["type"][len("zen:event-type:"):]
        key = f"event:{data['id']}"
        event_time = zendesk_event_time(loaded["time"], received_at)
    else:
        try:
            zendesk_trigger_schema.load(data)
        except ValidationError as e:
            if "ticket_id" in (e.messages if isinstance(e.messages, dict) else {}):
                raise ValidationError(
                    {"ticket_id": ["required in trigger payloads (or send a zen:event-type:* event)"]}
                ) from None
            raise
        kind = "trigger"
        # Keyed on the signed body, not on the invocation id: that header is outside the signature, so
        # a captured delivery sent again with another id would be stored again. Zendesk's retries of
        # an invocation carry the same body (their signature timestamp may be new), and the body of
        # the triggers `groundswell zendesk install` makes carries the ticket's update time, so two
        # changes of a ticket are two keys. The invocation id stays in the payload's `_delivery`.
        key = "body:" + hashlib.sha256(body).hexdigest()
        event_time = received_at
    delivery = {k: v for k, v in (("webhook_id", ctx.webhook_id), ("invocation_id", ctx.invocation_id),
                                  ("account_id", ctx.account_id)) if v}
    payload = dict(data)
    if delivery:
        payload["_delivery"] = {k: storable_text(str(v)[:128]) for k, v in delivery.items()}
    event = NewEvent(source="zendesk", kind=f"zendesk.{kind}"[:80], idempotency_key=key[:160],
                     event_time=event_time, payload=payload)
    tenant_id = tenant.id  # before the rollback expires it
    session.rollback()
    return tenant, log.append(tenant_id, [event], received_at)


def verify_zendesk_delivery(session: Session, slug: str, body: bytes, ctx: WebhookContext, *, now: datetime,
                            secret_key: str, tolerance_seconds: int = 300, allow_test_secret: bool = False) -> Tenant:
    """The tenant named by ``slug`` if its webhook secret (or, when allowed, Zendesk's test secret) signed
    ``body`` within the tolerance; Forbidden for an unknown tenant, Unauthorized for a bad signature."""
    tenant = find_by_slug(session, slug)
    if tenant is None:
        raise Forbidden("Unknown tenant.")
    secrets = [webhook_secret(tenant, secret_key=secret_key)]
    if allow_test_secret:
        secrets.append(signing.ZENDESK_TEST_SECRET)
    try:
        signing.verify(secrets, ctx.signature, ctx.timestamp, body, now=now, tolerance_seconds=tolerance_seconds)
    except signing.SignatureError as e:
        raise Unauthorized(f"Invalid Zendesk webhook signature: {e}.") from None
    return tenant


def headers_context(headers: Mapping[str, str]) -> WebhookContext:
    def h(name: str) -> str | None:
        value = headers.get(name)
        return value[:256] if value else None

    return WebhookContext(
        signature=h("X-Zendesk-Webhook-Signature"),
        timestamp=h("X-Zendesk-Webhook-Signature-Timestamp"),
        invocation_id=h("X-Zendesk-Webhook-Invocation-Id"),
        webhook_id=h("X-Zendesk-Webhook-Id"),
        account_id=h("X-Zendesk-Account-Id"),
    )
