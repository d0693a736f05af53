"""What the webhook list says about each endpoint's deliveries: the one that keeps failing and holds the
others up (`failing`), the last one actually attempted (`last_delivery`) and the last one a mute held back
(`last_skipped`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from server.notify import service
from server.notify.outbox import enqueue
from server.notify.webhooks import WebhookSender
from tests.conftest import TEST_SECRET_KEY
from tests.incidents.factories import add_incident
from tests.notify import fake_receivers
from tests.notify.conftest import T0, incident_payload

BASE = "/api/v1/settings/webhooks"


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return {**app_config, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_REQUIRE_HTTPS": False}


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}"}


def add(db: Any, tenant_id: int, incident_id: int, event: str, generation: int, at: datetime) -> None:
    with db.session() as s:
        enqueue(s, tenant_id, incident_id, event, incident_payload(incident_id), at, generation=generation)
        s.commit()


def listed(client: Any, creds: Any) -> dict[str, Any]:
    hooks = client.get(BASE, headers=auth(creds)).get_json()["webhooks"]
    assert len(hooks) == 1
    return hooks[0]


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def test_the_oldest_failing_delivery_is_shown_until_it_goes_through(client, db, tenant, clock, httpserver):
    t, creds = tenant
    receiver, _ = fake_receivers.install(httpserver)
    client.post(BASE, json={"url": receiver.url}, headers=auth(creds))
    add(db, t.id, 8, "opened", 0, T0)
    add(db, t.id, 5, "opened", 0, T0 + timedelta(seconds=10))  # queued later, though its number is lower
    add(db, t.id, 5, "grew", 1, T0 + timedelta(seconds=10))
    hook = listed(client, creds)
    assert hook["pending"] == 3 and hook["failing"] is None  # waiting, not tried yet: nothing failed

    sender = WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False, clock=clock,
                           retry_seconds=30.0)
    receiver.fail(503, times=4)
    clock.advance(10)
    sender.run_once()  # each incident's first event fails; #5's "grew" waits behind its "opened"
    clock.advance(30)
    sender.run_once()  # and again
    hook = listed(client, creds)
    assert hook["pending"] == 3 and hook["last_delivery"] is None and hook["last_skipped"] is None
    failing = hook["failing"]
    assert {k: failing[k] for k in ("incident_id", "event", "attempts", "status", "error", "others")} == {
        "incident_id": 8, "event": "opened", "attempts": 2, "status": 503, "error": "http_503",
        "others": 1}  # #5's opened failed too; its grew waits behind it, untried
    assert moment(failing["created_at"]) == T0
    assert moment(failing["next_attempt_at"]) == clock() + timedelta(seconds=60)

    clock.advance(60)
    sender.run_once()  # the receiver answers again
    hook = listed(client, creds)
    assert hook["pending"] == 0 and hook["failing"] is None
    assert hook["last_delivery"]["ok"] is True and hook["last_delivery"]["status"] == 204


def test_a_connection_that_fails_is_failing_with_no_status(client, db, tenant, clock):
    t, creds = tenant
    client.post(BASE, json={"url": "http://127.0.0.1:9/hook"}, headers=auth(creds))  # nothing listens there
    add(db, t.id, 5, "opened", 0, T0)
    WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False, clock=clock,
                  timeout=2.0).run_once()
    failing = listed(client, creds)["failing"]
    assert (failing["attempts"], failing["status"], failing["error"], failing["others"]) == (
        1, None, "connection_error", 0)


def test_a_muted_delivery_does_not_stand_in_for_the_last_one_attempted(client, db, tenant, clock, httpserver):
    t, creds = tenant
    receiver, _ = fake_receivers.install(httpserver)
    add_incident(db, t.id, 2)
    client.post(BASE, json={"url": receiver.url}, headers=auth(creds))
    sender = WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False, clock=clock)
    add(db, t.id, 3, "opened", 0, T0)
    sender.run_once()
    with db.session() as s:
        service.create_mute(s, t.id, {"incident_id": 2, "hours": 1}, now=clock())
    clock.advance(60)
    add(db, t.id, 2, "opened", 0, clock())
    add(db, t.id, 2, "grew", 1, clock())
    sender.run_once()  # both closed as muted, after #3's delivery
    hook = listed(client, creds)
    last = hook["last_delivery"]
    assert (last["incident_id"], last["event"], last["ok"], last["status"]) == (3, "opened", True, 204)
    assert moment(last["at"]) == T0
    skipped = hook["last_skipped"]
    assert (skipped["incident_id"], skipped["event"], skipped["reason"]) == (2, "grew", "muted")
    assert moment(skipped["at"]) == clock()
    assert hook["failing"] is None and [e["type"] for e in receiver.events] == ["incident.opened"]
