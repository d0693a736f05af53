"""PagerDuty back to Groundswell: an incident acknowledged or resolved in PagerDuty is acknowledged or
resolved here too.

A tenant's ``pagerduty`` webhook endpoint sends one PagerDuty alert per incident (dedup key
``groundswell-<tenant id>-<incident id>``, server/notify/webhooks.py). When the admin also creates a
PagerDuty v3 webhook subscription for that service, pointed at
``/api/v1/webhooks/pagerduty/<endpoint id>``, and stores the subscription's secret on the endpoint,
PagerDuty's deliveries are read here:

- each delivery is a JSON body ``{"event": {"event_type", "agent": {"summary"}, "data": {...}}}``
  signed in ``X-PagerDuty-Signature`` (one or more ``v1=<hex HMAC-SHA256 of the body>``, comma
  separated, so that a rotated secret keeps working); it is acted on only when one signature matches;
- ``incident.acknowledged`` acknowledges the Groundswell incident named by ``data.incident_key`` (an
  incident that is open), ``incident.resolved`` resolves it (while it is active), when a PagerDuty user
  did it (``agent.type`` ``user_reference``), in that user's name (``agent.summary``), "Dana
  (PagerDuty)", as ``PATCH /api/v1/incidents/<id>/status`` would: a control event each, so the detector
  and the incident's history learn it. Other event types, changes made by PagerDuty itself or by an
  integration (an auto-resolve; Groundswell's own resolve echoed back), incidents of other tools,
  incidents already in that state and events older than the incident's last status change (a late
  retry, a replayed delivery: the signature carries no time) are answered 200 and left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from server.errors import BadRequest, Conflict, Unauthorized
from server.eventlog import EventLog
from server.eventlog.log import as_utc
from server.incidents import actions as incidents
from server.incidents.models import ACTIVE, Incident
from server.incidents.schemas import MAX_ID
from server.notify.models import WebhookEndpoint
from server.notify.webhooks import DeliveryError, decrypt_secret
from server.validation import person_name

log_ = logging.getLogger(__name__)

#: PagerDuty event type -> the Groundswell status it sets, and the statuses it applies to.
ACTIONS = {"incident.acknowledged": ("acknowledged", ("open",)), "incident.resolved": ("resolved", ACTIVE)}
_KEY = re.compile(r"groundswell-([0-9]{1,12})-([0-9]{1,12})")
MAX_SIGNATURES = 8
MAX_NAME = 80


def sign(secret: str, body: bytes) -> str:
    """One ``v1=`` signature of ``body``, as PagerDuty computes it."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verified(secret: str | None, header: str | None, body: bytes) -> bool:
    """True when one of the header's ``v1`` signatures (at most 8) is the body's under ``secret``."""
    if not secret or not header:
        return False
    expected = sign(secret, body).encode()
    given = [s.strip() for s in header.split(",")[:MAX_SIGNATURES]]
    return any(hmac.compare_digest(expected, s.encode("utf-8", "surrogateescape")) for s in given)


def receive(session: Session, log: EventLog, endpoint_id: int, body: bytes, header: str | None, *,
            secret_key: str, now: datetime) -> dict[str, Any]:
    """One delivery to endpoint ``endpoint_id``'s inbound URL. 401 unless it is signed with the secret
    stored on that ``pagerduty`` endpoint (an unknown endpoint looks the same); 400 when a signed body
    is not PagerDuty's JSON. Returns what was done: ``{"incident_id", "status"}``, both null when
    nothing was."""
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id <= MAX_ID else None
    secret = None
    if endpoint is not None and endpoint.format == "pagerduty" and endpoint.inbound_secret_enc:
        try:
            secret = decrypt_secret(endpoint.inbound_secret_enc, secret_key=secret_key)
        except DeliveryError:  # SECRET_KEY changed since it was saved: refused like a wrong signature
            log_.warning("cannot read the PagerDuty webhook secret of endpoint %s: SECRET_KEY changed", endpoint.id)
    if endpoint is None or not verified(secret, header, body):
        raise Unauthorized("The delivery is not signed with this endpoint's PagerDuty webhook secret "
                           "(X-PagerDuty-Signature).")
    try:
        event = json.loads(body).get("event")
    except (ValueError, AttributeError, RecursionError):
        event = None
    if not isinstance(event, dict):
        raise BadRequest("A PagerDuty v3 webhook delivery is a JSON object with an event.",
                         fields={"event": ["required"]})
    nothing: dict[str, Any] = {"incident_id": None, "status": None}
    action = ACTIONS.get(str(event.get("event_type")))
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    agent = event.get("agent") if isinstance(event.get("agent"), dict) else {}
    match = _KEY.fullmatch(str(data.get("incident_key") or ""))
    if action is None or match is None or int(match.group(1)) != endpoint.tenant_id:
        return nothing  # another event, or an incident of another tool or tenant
    if agent.get("type") != "user_reference":
        return nothing  # PagerDuty itself (auto-resolve, a merge) or an integration, Groundswell's echo included
    incident_id = int(match.group(2))
    if not 0 < incident_id <= MAX_ID:
        return nothing
    status, applies_to = action
    incident = session.get(Incident, (endpoint.tenant_id, incident_id))
    if incident is None or incident.status not in applies_to:
        return nothing
    occurred = _time(event.get("occurred_at"))
    if occurred is not None and incident.status_changed_at is not None and occurred < as_utc(incident.status_changed_at):
        return nothing  # a late retry or a replay: the incident changed since
    name = person_name(agent.get("summary"), MAX_NAME)
    try:
        incidents.set_status(session, log, endpoint.tenant_id, incident.id, status=status,
                             by=f"{name} (PagerDuty)", now=now, view=False)
    except Conflict:  # it changed between the read and the write
        return nothing
    return {"incident_id": incident.id, "status": status}


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time as PagerDuty writes it ("2020-10-02T18:45:22.169Z"), or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
