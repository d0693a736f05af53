"""The demo's history: two weeks of quiet tickets before the live stream, sent as signed webhooks, and the
last hours of in-app sessions, sent as widget batches."""

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

from server.demo.replay import HISTORY_CONCURRENCY, SESSION_HISTORY_HOURS, SESSIONS_PER_HOUR, TICKETS_PER_HOUR, \
    Replayer, history_window
from server.demo.run import DEMO_FRICTION
from server.demo.stream import ISSUES, PAGES, QUIET_FRICTION, TrafficModel
from server.incidents.stage import LIVE_LAG
from server.ingest.service import widget_event_time
from server.widget.detectors import PageFrictionDetector
from server.widget.features import SIGNALS
from server.widget.settings import page_path
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


def test_session_history_is_quiet_past_traffic_at_the_live_rate():
    speed = 8.0
    model = TrafficModel(seed=3, sessions_per_minute=SESSIONS_PER_HOUR / 60 / speed)
    sessions = list(model.session_history(END, hours=12, speed=speed))
    starts = [s["events"][0]["ts"] for s in sessions]
    assert starts == sorted(starts)
    assert END - timedelta(hours=12) <= starts[0] < END - timedelta(hours=11, minutes=50)
    assert END - timedelta(minutes=10) < starts[-1] < END
    expected = SESSIONS_PER_HOUR * 12
    assert 0.95 * expected < len(sessions) < 1.05 * expected
    # The live stream outside a surge sends the same rate: one real hour is ``speed`` stream hours.
    live = list(model.sessions(END, minute=model.period - 5, seconds=3600 * speed))
    assert 0.9 * SESSIONS_PER_HOUR < len(live) < 1.1 * SESSIONS_PER_HOUR
    hurt = [s for s in sessions if any(e["type"] in ("failed_request", "rage_click") for e in s["events"])]
    assert abs(len(hurt) / len(sessions) - QUIET_FRICTION) < 0.01
    pages = Counter(s["events"][0]["url"].split("/demo/acme/")[1] for s in sessions)
    assert len(pages) == len(PAGES) and min(pages.values()) > 0.2 * len(sessions)
    assert all(not any(e["type"] == "identify" for e in s["events"]) for s in sessions)


def _friction_alarms(detector: PageFrictionDetector, sessions: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Feed sessions' friction events to the detector as the widget stage does; (page, time) of each alarm."""
    events = sorted(((e["ts"].timestamp(), s["session_id"], e) for s in sessions for e in s["events"]),
                    key=lambda x: x[0])
    alarms = []
    for ts, sid, e in events:
        if e["type"] in SIGNALS:
            alarm = detector.observe(page_path(e["url"]), e["type"], sid, e["user_id"], ts)
            if alarm:
                alarms.append((alarm.path, ts))
    return alarms


def test_the_demo_surge_is_a_friction_incident_once_the_session_history_is_learnt():
    speed = 8.0
    model = TrafficModel(seed=3, tickets_per_minute=TICKETS_PER_HOUR / 60 / speed,
                         sessions_per_minute=SESSIONS_PER_HOUR / 60 / speed)
    detector = PageFrictionDetector(warmup_hours=DEMO_FRICTION["warmup_hours"])
    history = list(model.session_history(END, SESSION_HISTORY_HOURS, speed=speed))
    assert _friction_alarms(detector, history) == []  # quiet hours, tested for the last four of them
    assert min(s.hours for s in detector.series.values()) >= DEMO_FRICTION["warmup_hours"]
    # The live stream: the first surge (invoice PDFs) begins at its stream minute; sessions and the surge
    # tickets' own sessions (sent before each ticket), second by second of real time.
    surge = model.incidents[0]
    live = []
    for second in range(240):
        now = END + timedelta(seconds=second)
        minute = surge.start_minute + second * speed / 60
        live += list(model.sessions(now, minute, seconds=speed))
        live += [t["session"] for t in model.tickets(now, minute, seconds=speed) if t.get("session")]
    alarms = _friction_alarms(detector, live)
    assert alarms and {path for path, _ in alarms} == {"/demo/acme/invoices"}
    assert alarms[0][1] - END.timestamp() < 180  # within three real minutes of the surge's start


@pytest.fixture
def widget_recorder() -> Iterator[tuple[str, list[tuple[datetime, dict[str, str], dict[str, Any]]]]]:
    """A loopback stand-in for the widget endpoint: records (receive time, headers, body) of each batch."""
    received: list[tuple[datetime, dict[str, str], dict[str, Any]]] = []

    class Handler(_Recorder):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((datetime.now(timezone.utc), dict(self.headers), body))
            self._answer(202, {"accepted": len(body["events"]), "duplicates": 0})

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_send_session_history_keeps_each_events_time_as_the_server_reads_it(widget_recorder):
    url, received = widget_recorder
    creds = {"tenant": "acme", "webhook_secret": SECRET, "site_key": "gs_pk_demo"}
    replayer = Replayer(url, creds, speed=8.0, duplicate_rate=0.0, sessions_per_hour=120)
    out = io.StringIO()
    counts = replayer.send_session_history(3, console=Console(file=out, width=120))
    assert counts["errors"] == 0 and "Sending 3 hours of in-app sessions" in out.getvalue()
    assert 0.8 * 120 * 3 < len(received) < 1.2 * 120 * 3
    assert counts["widget_events"] == sum(len(b["events"]) for _, _, b in received)
    times = []
    for at, headers, body in received:
        assert headers["Origin"] == url and headers["X-Groundswell-Site-Key"] == "gs_pk_demo"
        assert abs(body["sent_at"] / 1000 - at.timestamp()) < 5  # stamped when it left
        times += [widget_event_time(e["ts"], body["sent_at"], at) for e in body["events"]]
        # The server's reading of the time is the generated one (to the clock's drift while sending).
        assert all(abs(widget_event_time(e["ts"], body["sent_at"], at).timestamp() - e["ts"] / 1000) < 5
                   for e in body["events"])
    now = datetime.now(timezone.utc)
    assert min(times) < now - timedelta(hours=2, minutes=50) and max(times) > now - timedelta(minutes=10)


def test_send_session_history_sends_at_most_the_day_the_server_keeps(widget_recorder):
    url, received = widget_recorder
    replayer = Replayer(url, {"tenant": "acme", "webhook_secret": SECRET, "site_key": "k"}, speed=8.0,
                        duplicate_rate=0.0, sessions_per_hour=4)
    replayer.send_session_history(72, console=Console(file=io.StringIO()))
    times = [widget_event_time(e["ts"], b["sent_at"], at) for at, _, b in received for e in b["events"]]
    now = datetime.now(timezone.utc)
    # Nothing would be clamped to the day's edge (which would stack sessions on one hour).
    assert len(received) > 40 and min(times) > now - timedelta(hours=23, minutes=40)


def test_the_live_stream_stops_once_what_it_feeds_is_gone(recorder):
    """`groundswell demo` passes the server's liveness: a stopped server ends the replay instead of a
    stream of connection errors."""
    replayer = Replayer(recorder, {"tenant": "acme", "webhook_secret": SECRET, "site_key": "k"}, speed=600.0)
    rounds = []

    def alive() -> bool:
        rounds.append(1)
        return len(rounds) <= 2

    replayer.run(duration=None, console=Console(file=io.StringIO(), width=120), alive=alive)
    assert len(rounds) == 3  # two rounds replayed, the third check ended it


def test_the_stream_table_written_to_a_file_keeps_its_heads_whole_and_explains_repeats(recorder):
    replayer = Replayer(recorder, {"tenant": "acme", "webhook_secret": SECRET, "site_key": "k"}, speed=600.0)
    out = io.StringIO()
    rounds = []
    replayer.run(duration=None, console=Console(file=out), alive=lambda: not rounds.append(1) and len(rounds) <= 1)
    text = out.getvalue()
    assert "repeats dropped" in text and "open incidents" in text and "events stored" in text
    assert "deliveries sent twice on purpose" in text
