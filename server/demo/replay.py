"""Replays the generated stream into a running server over HTTP, as Zendesk and the widget send it:
signed webhook deliveries (event-subscribed and trigger-style) and widget batches with an Origin.
Some deliveries are repeated on purpose, as Zendesk's at-least-once delivery does."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import requests
from rich.console import Console
from rich.live import Live
from rich.table import Table

from server.demo.stream import TrafficModel
from server.ingest.signing import sign

DEMO_ORIGIN = "https://app.acme-billing.example"


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
    """A trigger-connected custom JSON body, as an admin would define it with placeholders."""
    return {"ticket_id": str(ticket["id"]), "event": "created", "updated_at": _iso(ticket["created_at"]),
            "via": "Web form", "subject": ticket["subject"], "description": ticket["description"],
            "requester_id": ticket["requester"]["id"], "organization_id": ticket["requester"]["org_id"],
            "tags": " ".join(ticket["tags"])}


def widget_batch(session: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": session["session_id"], "sent_at": _ms(session["sent_at"]),
            "events": [dict(e, ts=_ms(e["ts"])) for e in session["events"]]}


class Replayer:
    def __init__(self, url: str, creds: dict[str, Any], *, speed: float = 1.0, seed: int = 7,
                 duplicate_rate: float = 0.02) -> None:
        self.url = url.rstrip("/")
        self.creds = creds
        self.speed = speed
        self.model = TrafficModel(seed=seed)
        self.rng = random.Random(seed + 1)
        self.duplicate_rate = duplicate_rate
        self.http = requests.Session()
        self.counts = {"tickets": 0, "widget_events": 0, "accepted": 0, "duplicates": 0, "errors": 0}
        self.last_error = ""

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            r = self.http.post(self.url + path, data=body, headers=headers, timeout=10)
        except requests.RequestException as e:
            self.counts["errors"] += 1
            self.last_error = type(e).__name__
            return
        if r.status_code == 202:
            data = r.json()
            self.counts["accepted"] += data["accepted"]
            self.counts["duplicates"] += data["duplicates"]
        else:
            self.counts["errors"] += 1
            self.last_error = f"{r.status_code} {r.text[:120]}"

    def send_ticket(self, ticket: dict[str, Any]) -> None:
        payload = trigger_payload(ticket) if self.rng.random() < 0.2 else zendesk_event(ticket)
        body = json.dumps(payload).encode()
        ts = _iso(datetime.now(timezone.utc))
        headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": ts,
                   "X-Zendesk-Webhook-Signature": sign(self.creds["webhook_secret"], ts, body),
                   "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4()), "X-Zendesk-Webhook-Id": "01DEMO"}
        for _ in range(2 if self.rng.random() < self.duplicate_rate else 1):
            self._post(f"/webhooks/zendesk/{self.creds['tenant']}", body, headers)
        self.counts["tickets"] += 1

    def send_session(self, session: dict[str, Any]) -> None:
        body = json.dumps(widget_batch(session)).encode()
        headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": DEMO_ORIGIN,
                   "X-Groundswell-Site-Key": self.creds["site_key"]}
        for _ in range(2 if self.rng.random() < self.duplicate_rate else 1):
            self._post("/api/v1/events", body, headers)
        self.counts["widget_events"] += len(session["events"])

    def _table(self, minute: float) -> Table:
        table = Table(title="Groundswell demo stream", show_header=True)
        table.add_column("stream minute")
        for key in self.counts:
            table.add_column(key.replace("_", " "))
        table.add_column("incident")
        active = ", ".join(i.issue for i in self.model.active(minute)) or "-"
        table.add_row(f"{minute:.1f}", *[str(v) for v in self.counts.values()], active)
        if self.last_error:
            table.caption = f"last error: {self.last_error}"
        return table

    def run(self, duration: float | None = None, console: Console | None = None) -> dict[str, int]:
        start = time.monotonic()
        console = console or Console(stderr=True)
        with Live(self._table(0), console=console, refresh_per_second=2, transient=False) as live:
            while duration is None or time.monotonic() - start < duration:
                tick = time.monotonic()
                minute = (tick - start) * self.speed / 60
                now = datetime.now(timezone.utc)
                for ticket in self.model.tickets(now, minute, seconds=self.speed):
                    self.send_ticket(ticket)
                for session in self.model.sessions(now, minute, seconds=self.speed):
                    self.send_session(session)
                live.update(self._table(minute))
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        return self.counts
