"""Zendesk webhook signature verification.

Zendesk signs each delivery with ``base64(HMAC-SHA256(key=secret, msg=timestamp + raw_body))``
and sends the result in ``X-Zendesk-Webhook-Signature`` with the timestamp in
``X-Zendesk-Webhook-Signature-Timestamp`` (ISO-8601). This module has no Flask or database
imports so the same code serves tests and tools.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

#: Zendesk's documented static secret for test sends of webhooks not yet created.
ZENDESK_TEST_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


class SignatureError(ValueError):
    """Why a delivery's signature was refused; the message is safe to return to the caller."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Compute the signature Zendesk would send.

    Examples
    --------
    >>> sign(ZENDESK_TEST_SECRET, "2026-01-01T00:00:00Z", b'{"ticket_id":"42"}')
    'C2XAkIdBu8uO89OssB4ME4csAlqkUJ88/fihVoHnSak='
    """
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def parse_timestamp(value: str) -> datetime:
    """Parse the signature timestamp header (ISO-8601, ``Z`` or an offset)."""
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts


def verify(secrets: list[str], signature: str | None, timestamp: str | None, body: bytes, *,
           now: datetime, tolerance_seconds: int = 300) -> datetime:
    """Check a delivery; return its signed timestamp or raise ``SignatureError``.

    Any of ``secrets`` may match (a rotated secret keeps working during the changeover).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> body, ts = b'{"ticket_id":"42"}', "2026-01-01T00:00:00Z"
    >>> now = datetime(2026, 1, 1, 0, 2, tzinfo=timezone.utc)
    >>> verify(["s3cret"], sign("s3cret", ts, body), ts, body, now=now).isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> verify(["other"], sign("s3cret", ts, body), ts, body, now=now)
    Traceback (most recent call last):
    ...
    server.ingest.signing.SignatureError: signature does not match
    """
    if not signature or not timestamp:
        raise SignatureError("missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp")
    if len(signature) > 128 or len(timestamp) > 64:
        raise SignatureError("malformed signature headers")
    ts = parse_timestamp(timestamp)
    if abs((now - ts).total_seconds()) > tolerance_seconds:
        raise SignatureError("signature timestamp is outside the allowed window")
    expected = signature.strip().encode("ascii", "replace")
    for secret in secrets:
        if hmac.compare_digest(sign(secret, timestamp, body).encode("ascii"), expected):
            return ts
    raise SignatureError("signature does not match")
