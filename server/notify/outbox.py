"""The notification outbox: the detector's writer enqueues, the :class:`Notifier` delivers.

Enqueue (inside the detector's write transaction, so a notification exists exactly when the incident
change that caused it was committed)::

    enqueue(session, tenant_id, incident_id, event, payload, now, generation)

``generation`` is the caller's count of notifications already made for this incident (0 for
``opened``, 1 for the first ``grew``, ``resolved`` or ``reopened``, ...). It becomes the row's ``seq``, so the
idempotency key is the primary key ``(tenant_id, incident_id, seq)``: a replay after a crash makes
the same calls with the same generations and finds the rows there (sent or not), and nothing is
queued twice. ``generation=None`` is for callers without such a counter: ``seq`` is then the number
of rows the incident already has, and a call repeating the latest row's event and payload is ignored.

Delivery: a :class:`Notifier` (one thread per detector process, over the same tenant partition as
the detector) polls rows with ``sent_at`` NULL whose ``next_attempt_at`` is due, and sends each
incident's rows in ``seq`` order: a row waits while an earlier row of its incident is pending, so a
thread never gets "resolved" before "opened". Row states, without a status column:

- pending: ``sent_at`` NULL; ``next_attempt_at`` is when to try next (NULL: now);
- delivered: ``sent_at`` set, ``last_error`` NULL;
- closed undelivered: ``sent_at`` set and ``last_error`` says why: ``not configured`` (the tenant has
  no Slack set up when the row came due: such rows are closed, not kept, so that configuring Slack
  later does not replay old alerts), ``gave up after N attempts: …`` or ``not retried: …`` (Slack
  said the message itself is invalid).

A failed attempt is retried after ``retry_seconds * 2**(attempts-1)`` (at most an hour), or after
Slack's ``Retry-After`` on 429, which also pauses that tenant's other rows. Several processes are
safe: a row is claimed with a compare-and-set ``UPDATE`` (on ``attempts``, ``sent_at`` NULL and
due) that also leases it for ``lease_seconds``, which works the same on SQLite and PostgreSQL. A
crash between Slack's answer and the commit sends that message again (at least once, never lost).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db import Database
from server.eventlog.log import as_utc
from server.incidents.models import Incident, Notification, SlackThread
from server.incidents.summaries import current_summary
from server.metrics import NOTIFICATIONS
from server.notify.client import SlackClient, SlackError, SlackTarget, parse_hosts
from server.notify.delivery import OutboxSender
from server.notify.mutes import NOT_CONFIGURED
from server.notify.settings import SettingsError, load_target, slack_settings
from server.notify.slack import EVENTS, incident_blocks
from server.notify.webhooks import enqueue_deliveries
from server.tenants import Tenant
from server.workers import start_periodic

log = logging.getLogger(__name__)

#: A failed ``chat.update`` of the parent with one of these still lets the thread reply go out.
_PARENT_UPDATE_TOLERATED = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def enqueue(session: Session, tenant_id: int, incident_id: int, event: str, payload: Mapping[str, Any],
            now: datetime, generation: int | None = None) -> bool:
    """Add the outbox row for one incident event unless it is already there, with a delivery row for each
    of the tenant's webhook endpoints that wants it (server/notify/webhooks.py); True when added.

    Parameters
    ----------
    session
        The caller's session; nothing is committed here.
    event
        ``opened``, ``grew``, ``acknowledged``, ``resolved`` or ``reopened``.
    payload
        The incident snapshot to show (datetimes are stored as ISO strings).
    now
        Stored as ``created_at`` and as the first ``next_attempt_at``.
    generation
        The incident's notification count before this one; the row's ``seq`` and the idempotency key.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    data = _json_ready(dict(payload))
    if generation is None:
        rows = session.scalars(select(Notification).where(Notification.tenant_id == tenant_id,
                                                          Notification.incident_id == incident_id)
                               .order_by(Notification.seq)).all()
        if rows and rows[-1].event == event and rows[-1].payload == data:
            return False
        seq = len(rows)
    else:
        seq = generation
        existing = session.get(Notification, (tenant_id, incident_id, seq))
        if existing is not None:
            if existing.event != event:
                log.warning("outbox row %s/%s/%s is %r, not %r; keeping it", tenant_id, incident_id, seq,
                            existing.event, event)
            return False
    session.add(Notification(tenant_id=tenant_id, incident_id=incident_id, seq=seq, event=event, payload=data,
                             created_at=now, attempts=0, next_attempt_at=now))
    enqueue_deliveries(session, tenant_id, incident_id, seq, event, data, now)
    return True


class Notifier(OutboxSender):
    """Sends pending outbox rows to each tenant's Slack.

    Parameters
    ----------
    db
        The database holding the outbox, the threads and the tenants' settings.
    secret_key
        Decrypts the tenants' stored Slack credentials.
    client
        The Slack transport (its base URL and allowed webhook hosts come from the configuration).
    base_url
        Where people open Groundswell (``PUBLIC_URL``); messages link to ``{base_url}/incidents#id=N``.
    **outbox
        ``max_attempts``, ``retry_seconds``, ``max_backoff``, ``lease_seconds``, ``partition``,
        ``batch`` and ``clock``, as for :class:`~server.notify.delivery.OutboxSender`. A 429 pauses
        the tenant's other incidents too.
    """

    model = Notification
    group = ("tenant_id", "incident_id")
    pause_by = "tenant_id"
    noun = "slack notification"
    target = "slack"

    def __init__(self, db: Database, *, secret_key: str, client: SlackClient, base_url: str | None = None,
                 **outbox: Any) -> None:
        super().__init__(db, **outbox)
        self.secret_key = secret_key
        self.client = client
        self.base_url = base_url or None

    @classmethod
    def from_config(cls, db: Database, cfg: Mapping[str, Any], *, secret_key: str,
                    partition: tuple[int, int] = (0, 1)) -> Notifier:
        client = SlackClient(api_url=cfg["SLACK_API_URL"], webhook_hosts=parse_hosts(cfg["SLACK_WEBHOOK_HOSTS"]))
        return cls(db, secret_key=secret_key, client=client, base_url=cfg["PUBLIC_URL"] or None,
                   max_attempts=int(cfg["NOTIFY_MAX_ATTEMPTS"]), retry_seconds=float(cfg["NOTIFY_RETRY_SECONDS"]),
                   partition=partition)

    def _before_claim(self, session: Session, stream: tuple[Any, ...], row: Any, now: datetime) -> int | None:
        """A tenant without Slack when its rows come due has them closed, not kept (no flood later); a
        muted incident's row is closed as ``muted`` (server/notify/mutes.py)."""
        tenant = session.get(Tenant, row.tenant_id)
        slack = slack_settings(tenant.settings if tenant else None)
        if tenant is not None and slack.get("mode") in ("webhook", "web_api"):
            return super()._before_claim(session, stream, row, now)
        result = session.execute(
            update(Notification).where(self._stream(stream), Notification.sent_at.is_(None), self._due(now))
            .values(sent_at=now, last_error=NOT_CONFIGURED, next_attempt_at=None)
            .execution_options(synchronize_session=False))
        session.commit()
        closed = int(result.rowcount or 0)  # type: ignore[attr-defined]
        NOTIFICATIONS.labels(self.target, "not_configured").inc(closed)
        return closed

    # -- one attempt ------------------------------------------------------------------------------
    def _attempt(self, session: Session, row: Notification) -> bool:
        tenant = session.get(Tenant, row.tenant_id)
        try:
            target = load_target(slack_settings(tenant.settings if tenant else None), secret_key=self.secret_key)
            if target is None:
                raise SlackError("incomplete_settings")
            self.deliver(session, target, row)
        except SettingsError:
            self._failed(row, "cannot_decrypt_credentials")
            return False
        except SlackError as e:
            self._failed(row, str(e), permanent=e.permanent, retry_after=e.retry_after)
            return False
        self._delivered(row)
        return True

    def deliver(self, session: Session, target: SlackTarget, row: Notification) -> None:
        """Send one row. Webhook mode: one message per event. Web API mode: the first message starts
        the incident's thread (its ``ts`` kept in ``SlackThread``); later events redraw the parent
        with the current status and reply in the thread."""
        payload = dict(row.payload or {})
        payload["llm_summary"] = current_summary(session, row.tenant_id, row.incident_id)
        if target.mode == "webhook":
            self.client.post_webhook(target.webhook_url or "", incident_blocks(payload, row.event, self.base_url,
                                                                                  buttons=target.buttons))
            return
        token, parent = target.bot_token or "", incident_blocks(payload, "opened", self.base_url, buttons=target.buttons)
        thread = session.get(SlackThread, (row.tenant_id, row.incident_id))
        if thread is None:
            channel, ts = self.client.post_message(token, target.channel or "", parent)
            thread = SlackThread(tenant_id=row.tenant_id, incident_id=row.incident_id, channel=channel, ts=ts)
            session.add(thread)
            session.flush()  # kept even if the reply below fails: a retry must not post a second parent
            if row.event == "opened":
                return
        else:
            try:
                self.client.update_message(token, thread.channel, thread.ts, parent)
            except SlackError as e:
                if not (e.permanent or e.code in _PARENT_UPDATE_TOLERATED):
                    raise
                log.info("could not redraw the thread's parent: %s", e,
                         extra={"tenant_id": row.tenant_id, "incident_id": row.incident_id})
            if row.event == "opened":  # a resend after a crash: the parent exists, the redraw was enough
                return
        self.client.post_message(token, thread.channel, incident_blocks(payload, row.event, self.base_url),
                                 thread_ts=thread.ts)

    def redraw(self, tenant_id: int, incident_id: int) -> bool:
        """Redraw the incident's Slack thread parent now, from its latest outbox snapshot and its current
        summary (Web API mode, once the thread exists; edits notify nobody). Best effort: False when
        there was nothing to redraw or Slack refused; the next event redraws it anyway."""
        with self.db.session() as session:
            thread = session.get(SlackThread, (tenant_id, incident_id))
            tenant = session.get(Tenant, tenant_id)
            if thread is None or tenant is None:
                return False
            try:
                target = load_target(slack_settings(tenant.settings), secret_key=self.secret_key)
            except SettingsError:
                return False
            message = current_message(session, tenant_id, incident_id, self.base_url,
                                      buttons=target is not None and target.buttons)
            if target is None or target.mode != "web_api" or message is None:
                return False
            # Called from another thread than the notifier's: a client (and HTTP session) of its own.
            client = SlackClient(api_url=self.client.api_url, webhook_hosts=self.client.webhook_hosts,
                                 timeout=self.client.timeout)
            try:
                client.update_message(target.bot_token or "", thread.channel, thread.ts, message)
            except SlackError as e:
                log.info("could not redraw the thread's parent: %s", e,
                         extra={"tenant_id": tenant_id, "incident_id": incident_id})
                return False
            return True


def current_message(session: Session, tenant_id: int, incident_id: int, base_url: str | None, *,
                    buttons: bool) -> dict[str, Any] | None:
    """The incident's full message as it stands now: its latest outbox snapshot with the incident's current
    status (a status change made after its latest event, such as a reopen, adds none) and summary; None
    before its first event."""
    row = session.scalars(select(Notification).where(Notification.tenant_id == tenant_id,
                                                     Notification.incident_id == incident_id)
                          .order_by(Notification.seq.desc()).limit(1)).first()
    incident = session.get(Incident, (tenant_id, incident_id))
    if row is None or incident is None:
        return None
    payload = {**(row.payload or {}), "status": incident.status, "status_by": incident.status_by,
               "llm_summary": incident.llm_summary}
    return incident_blocks(payload, "opened", base_url, buttons=buttons)


def start_worker(notifier: Notifier, *, interval: float = 5.0, stop: threading.Event | None = None) -> threading.Thread:
    """Run ``notifier.run_once`` every ``interval`` seconds in a daemon thread, apart from the detector loop."""
    return start_periodic("notifier", notifier.run_once, interval=interval, stop=stop)
