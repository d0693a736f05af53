"""The buttons on incident messages in Slack: Acknowledge, Useful and Noise.

When a tenant stores its Slack app's signing secret, the incident's first message (in Web API mode, the
thread's parent) carries the buttons. Pressing one makes Slack POST to the app's Interactivity request
URL, ``/api/v1/slack/interactions/<tenant slug>``: an ``application/x-www-form-urlencoded`` body whose
``payload`` field holds JSON (``type: block_actions``, the ``user``, the ``actions`` pressed, a
``response_url``), signed with the signing secret (``X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:<X-Slack-Request-Timestamp>:<body>">``). A request is acted on only when its signature is valid
and its timestamp within five minutes of the server's clock.

Acknowledge changes the incident's status, Useful and Noise add feedback, exactly as the API's
``PATCH .../status`` and ``POST .../feedback`` do (a control event each, so the detector learns it; a
noise vote raises the bar for the incident's series and kind). The person is named by their Slack name,
"ana (Slack)"; a person's second vote of the same kind on an incident is not counted again. Slack is
then answered through ``response_url``, from a worker thread once the request has been answered (Slack
wants its 200 within three seconds): after an acknowledgement the message is redrawn in place with its
new status (and without that button); after a vote, or when nothing could be done (the incident is no
longer open, or unknown), only the person who pressed sees a short reply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import BadRequest, Conflict, NotFound, Unauthorized
from server.eventlog import EventLog
from server.incidents import actions as incidents
from server.incidents.models import Feedback, Incident
from server.incidents.schemas import MAX_ID
from server.notify.client import SlackClient, SlackError
from server.notify.outbox import current_message
from server.notify.settings import SettingsError, signing_secret, slack_settings
from server.notify.slack import escape
from server.tenants import find_by_slug
from server.validation import person_name

log_ = logging.getLogger(__name__)

#: action_id -> what it does.
ACTIONS = {"gs_ack": ("status", "acknowledged"), "gs_useful": ("feedback", "useful"),
           "gs_noise": ("feedback", "noise")}
#: Slack's requests older (or newer) than this are refused: a replayed request.
MAX_SKEW = 300
MAX_NAME = 80
_DIGITS = re.compile(r"[0-9]{1,12}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` and the hex HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return "v0=" + digest


def verified(secret: str | None, timestamp: str | None, sent: str | None, body: bytes, now: float) -> bool:
    """True when the request is Slack's: a fresh timestamp and a matching signature (constant-time)."""
    if not secret or not timestamp or not sent or not _DIGITS.fullmatch(timestamp):
        return False
    if abs(now - int(timestamp)) > MAX_SKEW:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), sent.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class Press:
    """One button press: which, on which incident, by whom, and where to answer."""

    action: str
    incident_id: int
    by: str
    response_url: str | None


def parse(payload: str | None) -> Press | None:
    """The first Groundswell button in a ``block_actions`` payload, or None (other interactions, or a
    payload that is not one)."""
    try:
        data = json.loads(payload or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "block_actions" or not isinstance(data.get("actions"), list):
        return None
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    names = (person_name(user.get(k), MAX_NAME, "") for k in ("username", "name", "id"))
    name = next((n for n in names if n), "someone")
    url = data.get("response_url")
    for action in data["actions"]:
        if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
            continue
        value = str(action.get("value") or "")
        if not _DIGITS.fullmatch(value) or not 0 < int(value) <= MAX_ID:
            return None
        by = f"{name} (Slack)"
        return Press(str(action["action_id"]), int(value), by, url if isinstance(url, str) else None)
    return None


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def handle(session: Session, log: EventLog, tenant_id: int, press: Press, *, now: datetime,
           base_url: str | None) -> dict[str, Any]:
    """Apply ``press`` as the API would, and return the message to send to its ``response_url``."""
    kind, value = ACTIONS[press.action]
    ref = f"incident #{press.incident_id}"
    try:
        if kind == "status":
            incident = session.get(Incident, (tenant_id, press.incident_id))
            if incident is None:
                raise NotFound(ref)
            if incident.status != "open":
                return _ephemeral(f"Nothing changed: {ref} is {incident.status} (by {escape(incident.status_by or '?')}).")
            incidents.set_status(session, log, tenant_id, press.incident_id, status=value, by=press.by, now=now,
                                 view=False)
            message = current_message(session, tenant_id, press.incident_id, base_url, buttons=True)
            return {"replace_original": True, **message} if message else _ephemeral(f"Acknowledged {ref}.")
        voted = session.scalar(select(Feedback.id).where(Feedback.tenant_id == tenant_id,
                                                         Feedback.incident_id == press.incident_id,
                                                         Feedback.by == press.by, Feedback.verdict == value).limit(1))
        if voted is not None:  # one vote per person and verdict: a second press does not raise the bar again
            return _ephemeral(f"You already marked {ref} as {value}; nothing changed.")
        incidents.add_feedback(session, log, tenant_id, press.incident_id, verdict=value, by=press.by, now=now,
                               view=False)
    except NotFound:
        return _ephemeral(f"Groundswell has no {ref}.")
    except Conflict as e:
        return _ephemeral(f"Nothing changed: {escape(str(e))}")
    if value == "noise":
        return _ephemeral(f"Marked {ref} as noise. Groundswell raises the bar for its topic and kind, so a "
                          "rise of this size there alerts less readily.")
    return _ephemeral(f"Marked {ref} as useful. Thank you.")


def receive(session: Session, log: EventLog, slug: str, body: bytes, timestamp: str | None, sent: str | None,
            payload: str | None, *, secret_key: str, now: datetime, base_url: str | None,
            client: SlackClient) -> None:
    """One request to the interactivity URL of tenant ``slug``: verified, acted on, answered through
    its ``response_url`` (a signed interaction that is not one of Groundswell's buttons is left alone).
    401 when the signature does not hold, whatever the reason (an unknown tenant is not told apart from
    a wrong signature); 400 when a signed body has no ``payload``."""
    tenant = find_by_slug(session, slug)  # a slug that cannot be one (a NUL, say) is no tenant: not queried
    secret = None
    if tenant is not None:
        try:
            secret = signing_secret(slack_settings(tenant.settings), secret_key=secret_key)
        except SettingsError:
            log_.warning("cannot read the Slack signing secret of tenant %s: SECRET_KEY changed", tenant.id)
    if tenant is None or not verified(secret, timestamp, sent, body, now.timestamp()):
        raise Unauthorized("The request is not signed by this tenant's Slack app: check the signing secret "
                           "stored in the notification settings and the server's clock.")
    if payload is None:
        raise BadRequest("A Slack interaction carries a form field named payload.", fields={"payload": ["required"]})
    press = parse(payload)
    if press is None:
        return
    message = handle(session, log, tenant.id, press, now=now, base_url=base_url)
    if press.response_url:  # after the 200: Slack wants it within 3 s, and the answer is a request of its own
        future = _ANSWERS.submit(_answer, client, press.response_url, message, tenant.id)
        with _LOCK:
            _PENDING.add(future)
        future.add_done_callback(_forget)


_ANSWERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-answer")
_PENDING: set[Future[None]] = set()
_LOCK = threading.Lock()


def _forget(future: Future[None]) -> None:
    with _LOCK:
        _PENDING.discard(future)


def _answer(client: SlackClient, url: str, message: dict[str, Any], tenant_id: int) -> None:
    try:
        client.post_webhook(url, message)
    except SlackError as e:  # acted on all the same; the person sees it on the page or in the next message
        log_.info("could not answer a Slack button press: %s", e, extra={"tenant_id": tenant_id})


def flush(timeout: float = 10.0) -> None:
    """Wait until the answers sent so far have gone out (the tests read them after a press)."""
    with _LOCK:
        pending = set(_PENDING)
    wait(pending, timeout=timeout)
