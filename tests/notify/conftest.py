from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from server.notify.client import SlackClient
from server.notify.outbox import Notifier
from server.notify.settings import store
from server.tenants import Tenant
from tests.conftest import TEST_SECRET_KEY
from tests.notify import fake_slack

T0 = datetime(2026, 3, 2, 23, 4, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def incident_payload(incident_id: int = 12, **changes: Any) -> dict[str, Any]:
    """An incident snapshot as the detector's writer stores it in the outbox."""
    payload = {
        "id": incident_id, "kind": "spike", "status": "open", "status_by": "detector",
        "title": "Spike: 'invoice pdf · blank'",
        "sentence": "17 tickets from 15 customers in 2 h about 'invoice pdf · blank'; expected 1.2 customers; first seen 23:04 UTC",
        "series": "topic:7", "topic_id": 7, "first_seen_at": "2026-03-02T23:04:00+00:00",
        "detected_at": "2026-03-02T23:54:00+00:00", "last_activity_at": "2026-03-02T23:54:00+00:00",
        "resolved_at": None, "ticket_count": 17, "requester_count": 15, "account_count": 9,
        "p_value": 3.2e-7, "surprise": 6.5, "direction": "up",
        "evidence": {
            "observed": 15, "expected": 1.2, "lower": 0, "upper": 4, "window_minutes": 120, "measure": "customers",
            "top_terms": ["invoice pdf", "blank", "download"],
            "segments": [{"name": "plan", "value": "enterprise", "count": 11, "share": 0.73}],
            "representatives": [{"ticket_id": "101", "text": "The invoice PDF is blank since this morning."},
                                {"ticket_id": "102", "text": "Downloaded invoice is an empty page"},
                                {"ticket_id": "103", "text": "PDF export shows nothing"},
                                {"ticket_id": "104", "text": "a fourth one, not shown"}],
            "release": {"version": "2.31", "deployed_at": "2026-03-02T22:24:00+00:00", "minutes_before": 40},
        },
    }
    payload.update(changes)
    return payload


@pytest.fixture
def slack(httpserver):  # type: ignore[no-untyped-def]
    return fake_slack.install(httpserver)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def configure(db: Any, tenant_id: int, **changes: Any) -> None:
    """Store Slack settings for a tenant the way the API does."""
    with db.session() as s:
        t = s.get(Tenant, tenant_id)
        slack_block = store({}, changes, secret_key=TEST_SECRET_KEY)
        t.settings = {**(t.settings or {}), "notify": {"slack": slack_block}}
        s.commit()


@pytest.fixture
def make_notifier(db, slack, clock):  # type: ignore[no-untyped-def]
    def make(**kw: Any) -> Notifier:
        client = SlackClient(api_url=slack.api_url, webhook_hosts=frozenset({"127.0.0.1", "localhost"}), timeout=5)
        params = {"secret_key": TEST_SECRET_KEY, "client": client, "base_url": "https://gs.example.com",
                  "max_attempts": 4, "retry_seconds": 10.0, "clock": clock, **kw}
        return Notifier(db, **params)

    return make


def run_until(start: Callable[[threading.Event], threading.Thread], done: Callable[[], bool]) -> threading.Thread:
    """Start a worker thread with a stop event, wait (at most 5 s) until ``done()``, stop it and join it."""
    stop = threading.Event()
    thread = start(stop)
    for _ in range(500):
        if done():
            break
        stop.wait(0.01)
    stop.set()
    thread.join(5)
    return thread
