"""Notification mutes: held-back Slack messages, webhook deliveries and PagerDuty events, and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.incidents.models import Notification
from server.notify import service
from server.notify.models import WebhookDelivery
from server.notify.outbox import enqueue
from server.notify.webhooks import WebhookSender
from tests.conftest import TEST_SECRET_KEY
from tests.incidents.factories import add_incident
from tests.notify import fake_receivers
from tests.notify.conftest import T0, configure, incident_payload


def add(db: Any, tenant_id: int, incident_id: int, event: str, generation: int, **changes: Any) -> None:
    with db.session() as s:
        enqueue(s, tenant_id, incident_id, event, incident_payload(incident_id, **changes), T0, generation=generation)
        s.commit()


def mute(db: Any, tenant_id: int, now: Any = T0, **body: Any) -> dict[str, Any]:
    body.setdefault("hours", 4)
    with db.session() as s:
        return service.create_mute(s, tenant_id, body, now=now)


def slack_rows(db: Any) -> list[tuple[int, int, str, str | None]]:
    with db.session() as s:
        return [(n.incident_id, n.seq, n.event, n.last_error) for n in
                s.scalars(select(Notification).order_by(Notification.incident_id, Notification.seq))]


@pytest.fixture
def incident(db, tenant):  # type: ignore[no-untyped-def]
    t, _ = tenant
    add_incident(db, t.id, 12, series="topic:7", topic_id=7)
    return 12


def test_a_muted_incident_is_not_sent_to_slack_and_its_resolution_follows(db, tenant, slack, make_notifier,
                                                                            clock, incident):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    mute(db, t.id, incident_id=incident, hours=1)
    add(db, t.id, 12, "opened", 0)
    add(db, t.id, 13, "opened", 0, series="topic:8")  # another incident: not covered
    notifier = make_notifier()
    assert notifier.run_once() == 2
    assert [c["text"] for c in slack.webhook_calls if "12" in c["text"]] == []
    assert len(slack.webhook_calls) == 1
    add(db, t.id, 12, "resolved", 1)  # resolving what was never announced: held back too
    clock.advance(2 * 3600)  # even once the mute has ended
    notifier.run_once()
    assert slack_rows(db) == [(12, 0, "opened", "muted"), (12, 1, "resolved", "muted"), (13, 0, "opened", None)]
    assert len(slack.webhook_calls) == 1


def test_an_acknowledgement_and_a_resolution_go_where_the_opening_went(db, tenant, slack, make_notifier, clock,
                                                                        incident):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    add(db, t.id, 12, "opened", 0)
    notifier = make_notifier()
    notifier.run_once()
    mute(db, t.id, now=clock(), incident_id=incident, hours=1)
    add(db, t.id, 12, "grew", 1)
    add(db, t.id, 12, "acknowledged", 2)
    add(db, t.id, 12, "resolved", 3)
    notifier.run_once()
    assert slack_rows(db) == [(12, 0, "opened", None), (12, 1, "grew", "muted"), (12, 2, "acknowledged", None),
                              (12, 3, "resolved", None)]
    assert len(slack.webhook_calls) == 3


def test_a_series_mute_covers_every_incident_on_it_until_it_ends(db, tenant, slack, make_notifier, clock):
    t, _ = tenant
    configure(db, t.id, mode="webhook", webhook_url=slack.webhook_url)
    mute(db, t.id, series="channel:email", hours=2, reason="mail server migration")
    add(db, t.id, 1, "opened", 0, series="channel:email", kind="drop")
    add(db, t.id, 2, "opened", 0, series="channel:web", kind="drop")
    notifier = make_notifier()
    notifier.run_once()
    assert [r[3] for r in slack_rows(db)] == ["muted", None]
    clock.advance(2 * 3600)
    add(db, t.id, 3, "opened", 0, series="channel:email", kind="drop")
    notifier.run_once()
    assert slack_rows(db)[-1] == (3, 0, "opened", None)
    assert len(slack.webhook_calls) == 2


def test_webhooks_and_pagerduty_are_held_back_per_endpoint(db, tenant, httpserver, clock, incident):
    t, _ = tenant
    receiver, pagerduty = fake_receivers.install(httpserver)
    with db.session() as s:
        for body in ({"format": "groundswell", "url": receiver.url},
                     {"format": "pagerduty", "routing_key": fake_receivers.ROUTING_KEY}):
            service.create_webhook(s, t.id, {"events": ["opened", "grew", "resolved", "reopened"], "kinds": None,
                                             **body}, secret_key=TEST_SECRET_KEY, now=T0, allow_private=True,
                                   require_https=False)
    sender = WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False,
                           pagerduty_url=pagerduty.url, clock=clock)
    add(db, t.id, 12, "opened", 0)
    sender.run_once()
    mute(db, t.id, now=clock(), incident_id=incident, hours=1)
    add(db, t.id, 12, "grew", 1, requester_count=40)
    add(db, t.id, 12, "resolved", 2)
    sender.run_once()
    assert [e["type"] for e in receiver.events] == ["incident.opened", "incident.resolved"]
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
    assert list(pagerduty.alerts.values()) == ["resolved"]
    with db.session() as s:
        errors = sorted((d.seq, d.last_error) for d in s.scalars(select(WebhookDelivery)))
    assert errors == [(0, None), (0, None), (1, "muted"), (1, "muted"), (2, None), (2, None)]


BASE = "/api/v1/mutes"


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}"}


def test_the_api_mutes_lists_and_ends(client, db, tenant, make_tenant, incident):
    _, creds = tenant
    _, other = make_tenant("Other")
    r = client.post(BASE, json={"incident_id": incident, "hours": 4, "reason": "<b>on it</b>", "by": "Dana"},
                    headers=auth(creds))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["scope"] == "incident" and made["reason"] == "<b>on it</b>" and made["by"] == "Dana"
    r = client.post(BASE, json={"series": "channel:email", "until": "2099-01-01T00:00:00Z"}, headers=auth(creds))
    assert r.status_code == 201 and r.get_json()["scope"] == "series"
    listed = client.get(BASE, headers=auth(creds)).get_json()["mutes"]
    assert [m["id"] for m in listed] == [made["id"], r.get_json()["id"]]  # ending soonest first
    assert client.get(BASE, headers=auth(other)).get_json() == {"mutes": []}
    detail = client.get(f"/api/v1/incidents/{incident}", headers=auth(creds)).get_json()
    assert detail["mute"]["id"] == made["id"]
    assert client.delete(f"{BASE}/{made['id']}", headers=auth(other)).status_code == 404
    assert client.delete(f"{BASE}/{made['id']}", headers=auth(creds)).status_code == 204
    assert client.get(f"/api/v1/incidents/{incident}", headers=auth(creds)).get_json()["mute"] is None


@pytest.mark.parametrize("body, field", [
    ({"hours": 4}, "incident_id"),
    ({"incident_id": 12, "series": "topic:7", "hours": 4}, "incident_id"),
    ({"incident_id": 12}, "hours"),
    ({"incident_id": 12, "hours": 4, "until": "2099-01-01T00:00:00Z"}, "hours"),
    ({"incident_id": 12, "hours": 0.1}, "hours"),
    ({"incident_id": 12, "hours": 10_000}, "hours"),
    ({"series": "weather:rain", "hours": 4}, "series"),
    ({"series": "topic:7\n", "hours": 4}, "series"),
    ({"incident_id": 12, "until": "2001-01-01T00:00:00Z"}, "until"),
    ({"incident_id": 12, "until": "2099-01-01T00:00:00"}, "until"),  # no time zone
    ({"incident_id": 12, "hours": 4, "reason": "x" * 201}, "reason"),
])
def test_bad_mutes_get_400_naming_the_field(client, tenant, incident, body, field):
    _, creds = tenant
    r = client.post(BASE, json=body, headers=auth(creds))
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["error"]["fields"]


def test_an_unknown_incident_is_404(client, tenant):
    _, creds = tenant
    assert client.post(BASE, json={"incident_id": 999, "hours": 1}, headers=auth(creds)).status_code == 404


def test_ended_mutes_are_not_listed(db, tenant, incident):
    t, _ = tenant
    mute(db, t.id, incident_id=incident, hours=1)
    with db.session() as s:
        assert len(service.list_mutes(s, t.id, now=T0)["mutes"]) == 1
        assert service.list_mutes(s, t.id, now=T0 + timedelta(hours=1))["mutes"] == []
