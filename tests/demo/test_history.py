"""The demo's history: two weeks of quiet traffic before the live stream, sent as signed webhooks."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from rich.console import Console

from server.demo.replay import HISTORY_CONCURRENCY, TICKETS_PER_HOUR, Replayer, history_window
from server.demo.stream import ISSUES, TrafficModel
from server.incidents.stage import LIVE_LAG
from server.ingest.signing import verify
from server.understand.intake import parse

END = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
SECRET = "demo-webhook-secret"


def test_history_is_in_the_past_in_order_and_at_the_live_hourly_rate():
    speed = 8.0
    model = TrafficModel(seed=3, tickets_per_minute=TICKETS_PER_HOUR / 60 / speed)
    tickets = list(model.history(END, days=14, speed=speed))
    times = [t["created_at"] for t in tickets]
    assert times == sorted(times)
    assert END - timedelta(days=14) <= times[0] < END - timedelta(days=13, hours=23)
    assert END - timedelta(hours=1) < times[-1] < END
    expected = TICKETS_PER_HOUR * 24 * 14  # the hourly rate the live replay sends at this speed
    assert 0.95 * expected < len(tickets) < 1.05 * expected
    ids = [t["id"] for t in tickets]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Every hour looks alike (no surge, no daily shape): the busiest hour is a Poisson fluctuation.
    per_hour = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    assert max(per_hour.values()) < 3 * TICKETS_PER_HOUR


def test_history_has_no_incident_surges_but_the_live_stream_does():
    model = TrafficModel(seed=3)
    shares = Counter(t["issue"] for t in model.history(END, days=2, speed=1.0))
    total = sum(shares.values())
    weights = {i.key: i.weight / sum(j.weight for j in ISSUES) for i in ISSUES}
    for key, share in weights.items():
        assert abs(shares[key] / total - share) < 0.03, key
    surge = model.incidents[0]
    live = list(model.tickets(END, minute=surge.start_minute + 1, seconds=600))
    assert sum(t["issue"] == surge.issue for t in live) > len(live) / 2


def test_the_same_seed_gives_the_same_history_and_ticket_ids_can_start_anywhere():
    a = list(TrafficModel(seed=5).history(END, days=0.5))
    b = list(TrafficModel(seed=5).history(END, days=0.5))
    assert a == b
    c = list(TrafficModel(seed=5, first_ticket_id=200_000).history(END, days=0.5))
    assert c[0]["id"] == 200_000 and [t["id"] for t in c] == list(range(200_000, 200_000 + len(c)))


def test_history_window_sends_only_the_gap_after_a_previous_run():
    assert history_window(None, END, 14) == 14
    assert history_window(END - timedelta(days=40), END, 14) == 14
    assert history_window(END - timedelta(hours=6), END, 14) == pytest.approx(0.25)
    assert history_window(END + timedelta(minutes=1), END, 14) == 0.0


class _Recorder(BaseHTTPRequestHandler):
    """A loopback stand-in for the webhook endpoint: checks the signature, rate-limits once."""


    received: list[dict[str, Any]] = []
    limited = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        verify([SECRET], self.headers["X-Zendesk-Webhook-Signature"],
               self.headers["X-Zendesk-Webhook-Signature-Timestamp"], body, now=datetime.now(timezone.utc))
        with self.lock:
            if _Recorder.limited == 0:  # the first delivery is told to come back later
                _Recorder.limited += 1
                self._answer(429, {"error": "rate limited"}, {"Retry-After": "0"})
                return
            _Recorder.received.append(json.loads(body))
        self._answer(202, {"accepted": 1, "duplicates": 0})

    def _answer(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        out = json.dumps(data).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(out)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default backlog of 5 drops connections the replayer opens at once
    daemon_threads = True


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.received, _Recorder.limited = [], 0
    server = _Server(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_send_history_delivers_signed_past_tickets_that_the_detector_treats_as_history(recorder):
    creds = {"tenant": "acme", "webhook_secret": SECRET, "site_key": "k"}
    replayer = Replayer(recorder, creds, speed=8.0, duplicate_rate=0.0)
    out = io.StringIO()
    counts = replayer.send_history(1, console=Console(file=out, width=120))
    sent = len(_Recorder.received)
    assert counts["tickets"] == sent and counts["errors"] == 0 and _Recorder.limited == 1
    assert 0.8 * TICKETS_PER_HOUR * 24 < sent < 1.2 * TICKETS_PER_HOUR * 24
    assert "Sending 1 day of history" in out.getvalue()
    now = datetime.now(timezone.utc)
    updates = [parse("zendesk.ticket.created" if "type" in p else "zendesk.trigger", p) for p in _Recorder.received]
    kinds = Counter("event" if "type" in p else "trigger" for p in _Recorder.received)
    assert kinds["event"] > kinds["trigger"] > 0
    created = [u.created_at for u in updates]
    assert all(u.created for u in updates) and None not in created  # trigger bodies carry created_at too
    assert all(now - timedelta(days=1, minutes=10) < c <= now for c in created)
    assert sum(now - c > LIVE_LAG for c in created) > 0.7 * sent  # most of it is history to the detector
    # Sent batch by batch in order: a ticket arrives within a batch or two of its place in event order.
    ids = [int(u.ticket_id) for u in updates]
    rank = {tid: i for i, tid in enumerate(sorted(ids))}
    assert max(abs(rank[tid] - i) for i, tid in enumerate(ids)) < 2 * 4 * HISTORY_CONCURRENCY
