"""Replays the generated stream into a running server over HTTP, as Zendesk and the widget send it:
signed webhook deliveries (event-subscribed and trigger-style) and widget batches with an Origin.
Some deliveries are repeated on purpose, as Zendesk's at-least-once delivery does.

Time, as the detector sees it
-----------------------------
The detector works in event time (each ticket's ``created_at``) and learns per real hour. So that a
demo shows incidents within minutes, :meth:`Replayer.send_history` first sends the past weeks of the
same model's quiet traffic, ``created_at`` ending now, as fast as the server takes it. Arriving more
than six hours after their creation, those tickets are history to the detector (``LIVE_LAG`` in
server/incidents/stage.py): they teach the baselines and open nothing. :meth:`Replayer.run` then
sends live tickets stamped with the wall clock. Before them all, :meth:`Replayer.send_session_history`
sends the last hours of in-app sessions (at most a day: the widget API bounds a client's time to a day
before the batch arrives), so that the per-page friction detectors have learnt each page's ordinary
failures when the live surges bring their failed requests and rage clicks. They go first because a
page's detector starts at the first event it reads: a live one (someone already trying the sample
pages while the ticket history is sent) would leave the past hours behind it, and the page unwarmed.

Both phases run the model at the same ``speed`` (stream minutes per real minute), so the detector
sees one hourly rate throughout: ``tickets_per_hour`` of event time, in history and live alike
(the model's per-stream-minute rate is derived from it). Speed only compresses the model's incident
schedule: at speed 8 a surge of 64 stream minutes arrives within 8 real minutes, and against the
hourly baseline learnt from history it is many times the expected count of its topic.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone  # noqa: F401  (timedelta: the doctests use it)
from typing import Any, Callable

import requests
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from server.demo.stream import DEMO_SEED, TrafficModel
from server.ingest.service import MAX_CLIENT_AGE
from server.ingest.signing import sign
from server.widget.identity import user_hash

DEMO_ORIGIN = "https://app.acme-billing.example"
#: Tickets per hour of event time (history and live): about 16,000 tickets in two weeks, which the
#: server on a small machine takes in about two minutes.
TICKETS_PER_HOUR = 48.0
#: In-app sessions per hour of event time (history and live), a few in a hundred with friction.
SESSIONS_PER_HOUR = 720.0
#: Hours of in-app sessions sent before the live stream: the widget API keeps no client time older than a
#: day, so the friction detectors' history is at most that (the demo tenant's warm-up is set below it).
SESSION_HISTORY_HOURS = 12.0
#: Webhook deliveries in flight while sending history.
HISTORY_CONCURRENCY = 8
#: Times a delivery answered 429 (rate limited) is tried again after the Retry-After wait.
RETRIES_429 = 5


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (seconds form), between 0.1 and 10.

    >>> _retry_after("3"), _retry_after(None), _retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    (3.0, 1.0, 1.0)
    """
    try:
        return min(10.0, max(0.1, float(value or 1)))
    except ValueError:
        return 1.0


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_event(ticket: dict[str, Any], account_id: int = 22129848) -> dict[str, Any]:
    """An event-subscribed ``ticket.created`` payload (string ids, upper-case enums)."""
    req = ticket["requester"]
    created = _iso(ticket["created_at"])
    return {
        "type": "zen:event-type:ticket.created", "account_id": account_id, "id": str(uuid.uuid4()),
        "time": created, "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket['id']}",
        "detail": {"id": str(ticket["id"]), "subject": ticket["subject"], "description": ticket["description"],
                   "status": "NEW", "priority": "NORMAL", "type": "QUESTION", "tags": ticket["tags"],
                   "requester_id": req["id"], "organization_id": req["org_id"], "brand_id": "360001",
                   "group_id": "360100", "created_at": created, "updated_at": created,
                   "via": {"channel": "web_form"}, "is_public": True, "form_id": "360200"},
        "event": {},
    }


def trigger_payload(ticket: dict[str, Any]) -> dict[str, Any]:
    """A trigger-connected custom JSON body, as an admin would define it with placeholders.

    It carries ``created_at``: without it the ticket would count at the time the delivery arrived,
    which for a history ticket is now, not weeks ago.
    """
    created = _iso(ticket["created_at"])
    return {"ticket_id": str(ticket["id"]), "event": "created", "created_at": created, "updated_at": created,
            "via": "Web form", "subject": ticket["subject"], "description": ticket["description"],
            "requester_id": ticket["requester"]["id"], "organization_id": ticket["requester"]["org_id"],
            "organization_name": ticket["requester"]["org"], "tags": " ".join(ticket["tags"])}


def widget_batch(session: dict[str, Any], sent_at: datetime | None = None) -> dict[str, Any]:
    """The widget's POST body for a session; ``sent_at`` (default: the session's own) is when it leaves."""
    return {"session_id": session["session_id"], "sent_at": _ms(sent_at or session["sent_at"]),
            "events": [dict(e, ts=_ms(e["ts"])) for e in session["events"]]}


class Replayer:
    """Sends the model's traffic to the server at ``url`` for the tenant in ``creds``.

    Parameters
    ----------
    speed
        Stream minutes per real minute (the model's incident schedule runs this much faster).
    tickets_per_hour, sessions_per_hour
        Tickets and in-app sessions per hour of event time, in history and live alike.
    first_ticket_id
        Zendesk id of the first ticket sent (default: from the seed); a rerun on the same database
        passes one past the previous run's so that no ticket id repeats.
    """

    def __init__(self, url: str, creds: dict[str, Any], *, speed: float = 1.0, seed: int = DEMO_SEED,
                 duplicate_rate: float = 0.02, tickets_per_hour: float = TICKETS_PER_HOUR,
                 sessions_per_hour: float = SESSIONS_PER_HOUR, first_ticket_id: int | None = None) -> None:
        self.url = url.rstrip("/")
        self.creds = creds
        self.speed = speed
        # Sessions are on the server's own demo pages; with the tenant's identity secret they identify their
        # users as the product's backend would sign them.
        secret = creds.get("identity_secret")
        self.model = TrafficModel(seed=seed, tickets_per_minute=tickets_per_hour / 60 / speed,
                                  sessions_per_minute=sessions_per_hour / 60 / speed,
                                  first_ticket_id=first_ticket_id, origin=self.url,
                                  user_hash=(lambda uid: user_hash(secret, uid)) if secret else None)
        self.rng = random.Random(seed + 1)
        self.duplicate_rate = duplicate_rate
        self.http = requests.Session()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.counts = {"tickets": 0, "widget_events": 0, "accepted": 0, "duplicates": 0, "errors": 0}
        self.last_error = ""
        self.incidents = "-"
        self._polled = 0.0

    def _session(self) -> requests.Session:
        if threading.current_thread() is threading.main_thread():
            return self.http
        if not hasattr(self._local, "http"):
            self._local.http = requests.Session()
        return self._local.http

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            for attempt in range(RETRIES_429 + 1):
                r = self._session().post(self.url + path, data=body, headers=headers, timeout=30)
                if r.status_code != 429 or attempt == RETRIES_429:
                    break
                time.sleep(_retry_after(r.headers.get("Retry-After")))  # rate limited: wait as asked
        except requests.RequestException as e:
            with self._lock:
                self.counts["errors"] += 1
                self.last_error = type(e).__name__
            return
        with self._lock:
            if r.status_code == 202:
                data = r.json()
                self.counts["accepted"] += data["accepted"]
                self.counts["duplicates"] += data["duplicates"]
            else:
                self.counts["errors"] += 1
                self.last_error = f"{r.status_code} {r.text[:120]}"

    def _delivery(self, ticket: dict[str, Any]) -> tuple[bytes, int]:
        """The webhook body of a ticket and how many times it is delivered (drawn here, not in threads)."""
        payload = trigger_payload(ticket) if self.rng.random() < 0.2 else zendesk_event(ticket)
        return json.dumps(payload).encode(), 2 if self.rng.random() < self.duplicate_rate else 1

    def _deliver(self, body: bytes, times: int) -> None:
        ts = _iso(datetime.now(timezone.utc))
        headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": ts,
                   "X-Zendesk-Webhook-Signature": sign(self.creds["webhook_secret"], ts, body),
                   "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4()), "X-Zendesk-Webhook-Id": "01DEMO"}
        for _ in range(times):
            self._post(f"/webhooks/zendesk/{self.creds['tenant']}", body, headers)
        with self._lock:
            self.counts["tickets"] += 1

    def send_ticket(self, ticket: dict[str, Any]) -> None:
        """The ticket's webhook delivery, after the widget batch of its requester's session before it, if any."""
        if ticket.get("session"):
            self.send_session(ticket["session"])
        self._deliver(*self._delivery(ticket))

    def send_session(self, session: dict[str, Any], sent_at: datetime | None = None) -> None:
        """A session's widget batch; ``sent_at``: when it leaves, if later than the session's own time (a
        batch the widget kept and sends late keeps its events' times)."""
        body = json.dumps(widget_batch(session, sent_at)).encode()
        headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": self.url,
                   "X-Groundswell-Site-Key": self.creds["site_key"]}
        for _ in range(2 if self.rng.random() < self.duplicate_rate else 1):
            self._post("/api/v1/events", body, headers)
        with self._lock:
            self.counts["widget_events"] += len(session["events"])

    def history(self, days: float, end: datetime | None = None) -> list[dict[str, Any]]:
        """The tickets of the ``days`` before ``end`` (default: now), oldest first."""
        end = end or datetime.now(timezone.utc)
        return list(self.model.history(end, days, speed=self.speed))

    def send_history(self, days: float, console: Console | None = None, *,
                     concurrency: int = HISTORY_CONCURRENCY) -> dict[str, int]:
        """Send ``days`` of quiet traffic ending now, oldest first and without pauses, with a progress bar.

        Deliveries go ``concurrency`` at a time, in order batch by batch, so the log stays nearly in
        event order. The past's in-app sessions go separately (``send_session_history``).
        """
        deliveries = [self._delivery(t) for t in self.history(days)]
        label = f"{days:g} day" + ("" if days == 1 else "s") if days >= 1 else f"{days * 24:.1f} hours"
        self._send_all(deliveries, lambda d: self._deliver(*d), f"Sending {label} of history…", "tickets",
                       console, concurrency)
        return self.counts

    def send_session_history(self, hours: float, console: Console | None = None, *,
                             concurrency: int = HISTORY_CONCURRENCY) -> dict[str, int]:
        """Send the in-app sessions of the ``hours`` before now (at most a day: the server bounds a widget
        event's time to a day before it arrives), oldest first, so that the per-page friction detectors
        have a baseline when the live stream starts. Each batch is stamped with its sending time, as a
        widget that kept its events would send them; the events keep their own times."""
        hours = min(hours, MAX_CLIENT_AGE.total_seconds() / 3600 - 0.5)  # a margin for the sending time
        sessions = list(self.model.session_history(datetime.now(timezone.utc), hours, speed=self.speed))
        self._send_all(sessions, lambda s: self.send_session(s, sent_at=datetime.now(timezone.utc)),
                       f"Sending {_span(hours)} of in-app sessions…", "sessions", console, concurrency)
        return self.counts

    def _send_all(self, items: list[Any], send: Callable[[Any], None], title: str, unit: str,
                  console: Console | None, concurrency: int) -> None:
        """``send`` every item, ``concurrency`` at a time and batch by batch in order, with a progress bar."""
        console = console or Console(stderr=True)
        errors = self.counts["errors"]
        columns = (TextColumn(title), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeElapsedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress, \
                ThreadPoolExecutor(concurrency, thread_name_prefix="history") as pool:
            task = progress.add_task("history", total=len(items))
            batch = concurrency * 4
            for i in range(0, len(items), batch):
                chunk = items[i:i + batch]
                list(pool.map(send, chunk))
                progress.advance(task, len(chunk))
        if self.counts["errors"] > errors:
            console.print(f"[yellow]history: {self.counts['errors'] - errors} failed deliveries, "
                          f"last: {self.last_error}")

    def _poll_incidents(self) -> None:
        """Open incidents as the API lists them (at most every 10 s; best effort)."""
        if time.monotonic() - self._polled < 10 or not self.creds.get("api_token"):
            return
        self._polled = time.monotonic()
        try:
            r = self.http.get(self.url + "/api/v1/incidents", params={"status": "open,acknowledged", "limit": 5},
                              headers={"Authorization": f"Bearer {self.creds['api_token']}"}, timeout=5)
            if r.ok:
                data = r.json()
                newest = data["incidents"][0]["title"] if data["incidents"] else ""
                self.incidents = f"{data['total']}" + (f" (newest: {newest})" if newest else "")
        except (requests.RequestException, ValueError, KeyError, IndexError):
            pass

    #: The stream's counts as the table heads them.
    HEADS = {"tickets": "tickets", "widget_events": "widget events", "accepted": "events stored",
             "duplicates": "repeats dropped", "errors": "errors"}

    def _table(self, minute: float) -> Table:
        table = Table(title="Groundswell demo stream", show_header=True)
        table.add_column("stream minute")
        for key in self.counts:
            table.add_column(self.HEADS.get(key, key.replace("_", " ")))
        table.add_column("surging")
        table.add_column("open incidents")
        active = ", ".join(i.issue for i in self.model.active(minute)) or "-"
        # incident titles hold ticket words, and errors the server's words: text, never rich markup
        table.add_row(f"{minute:.1f}", *[str(v) for v in self.counts.values()], active, Text(self.incidents))
        # Some webhooks and batches are sent twice on purpose, as Zendesk and browsers retry: the log keeps
        # each event once, and says so.
        caption = "repeats dropped: deliveries sent twice on purpose (as retries are), stored once"
        table.caption = Text(caption + (f"; last error: {self.last_error}" if self.last_error else ""))
        return table

    def run(self, duration: float | None = None, console: Console | None = None,
            alive: Callable[[], bool] = lambda: True) -> dict[str, int]:
        """Replay the live stream for ``duration`` seconds (None: until interrupted or ``alive()`` is False,
        as when the server it feeds has stopped)."""
        start = last = time.monotonic()
        console = console or Console(stderr=True)
        if not console.is_terminal:  # a file or a pipe: rich would cut the table to 80 columns
            console.width = max(console.width, 160)
        with Live(self._table(0), console=console, refresh_per_second=2, transient=False) as live:
            while (duration is None or time.monotonic() - start < duration) and alive():
                tick = time.monotonic()
                minute = (tick - start) * self.speed / 60
                # The stream time since the last round, not a nominal second: a slow round (a busy
                # server) must not thin the traffic out.
                seconds = min(10.0, tick - last) * self.speed
                last = tick
                now = datetime.now(timezone.utc)
                for ticket in self.model.tickets(now, minute, seconds=seconds):
                    self.send_ticket(ticket)
                for session in self.model.sessions(now, minute, seconds=seconds):
                    self.send_session(session)
                self._poll_incidents()
                live.update(self._table(minute))
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        return self.counts


def history_window(last_ticket_at: datetime | None, now: datetime, days: float) -> float:
    """Days of history to send: ``days``, or only the gap since the last ticket a previous run sent.

    >>> now = datetime(2026, 1, 15, tzinfo=timezone.utc)
    >>> history_window(None, now, 14), history_window(now - timedelta(days=30), now, 14)
    (14, 14)
    >>> history_window(now - timedelta(hours=12), now, 14)
    0.5
    """
    if last_ticket_at is None:
        return days
    return max(0.0, min(days, (now - last_ticket_at).total_seconds() / 86400))


def _span(hours: float) -> str:
    """A span of time as a person says it: ``_span(23.5)`` is "23.5 hours", ``_span(0.0219)`` "1 minute".

    >>> _span(23.5), _span(1), _span(0.5), _span(0.0219308)
    ('23.5 hours', '1 hour', '30 minutes', '1 minute')
    """
    if hours >= 1:
        value = round(hours, 1)
        return f"{value:g} hour" + ("" if value == 1 else "s")
    minutes = max(1, round(hours * 60))
    return f"{minutes} minute" + ("" if minutes == 1 else "s")
