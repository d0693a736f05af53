"""The incident-webhook settings API: register, list, deliveries, test, delete."""

from __future__ import annotations

from typing import Any

import pytest

from server.notify.outbox import enqueue
from server.notify.service import MAX_WEBHOOKS
from server.notify.webhooks import WebhookSender
from tests.conftest import TEST_SECRET_KEY
from tests.notify import fake_receivers
from tests.notify.conftest import T0, incident_payload

BASE = "/api/v1/settings/webhooks"


@pytest.fixture
def app_config(app_config, httpserver):  # type: ignore[no-untyped-def]
    # the fakes listen on plain http on 127.0.0.1, which a deployment refuses by default
    return {**app_config, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_REQUIRE_HTTPS": False,
            "PAGERDUTY_EVENTS_URL": httpserver.url_for("/v2/enqueue")}


@pytest.fixture
def fakes(httpserver):  # type: ignore[no-untyped-def]
    return fake_receivers.install(httpserver)


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}"}


def test_register_list_and_the_secret_shown_once(client, tenant, fakes):
    _, creds = tenant
    receiver, _ = fakes
    r = client.post(BASE, json={"url": receiver.url, "kinds": ["spike", "drop"], "description": "ops bridge"},
                    headers=auth(creds))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["signing_secret"].startswith("gs_whsec_") and made["secret_hint"] == made["signing_secret"][-4:]
    assert made["events"] == ["opened", "grew", "acknowledged", "resolved", "reopened"]
    assert made["kinds"] == ["drop", "spike"]
    listed = client.get(BASE, headers=auth(creds)).get_json()["webhooks"]
    assert [w["id"] for w in listed] == [made["id"]]
    assert "signing_secret" not in listed[0] and made["signing_secret"] not in str(listed)
    assert listed[0]["pending"] == 0 and listed[0]["last_delivery"] is None


def test_events_kinds_and_description_change_by_patch_and_what_is_left_out_stays(client, tenant, fakes):
    _, creds = tenant
    receiver, _ = fakes
    made = client.post(BASE, json={"url": receiver.url, "events": ["opened", "resolved"], "kinds": ["spike"],
                                   "description": "ops bridge"}, headers=auth(creds)).get_json()
    url = f"{BASE}/{made['id']}"
    r = client.patch(url, json={"events": ["reopened", "acknowledged", "opened", "resolved"]}, headers=auth(creds))
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["events"] == ["opened", "acknowledged", "resolved", "reopened"]  # in the product's order
    assert got["kinds"] == ["spike"] and got["description"] == "ops bridge"
    got = client.patch(url, json={"kinds": None, "description": None}, headers=auth(creds)).get_json()
    assert got["kinds"] is None and got["description"] is None and len(got["events"]) == 4
    for bad in ({"events": []}, {"events": ["escalated"]}, {"kinds": ["weather"]}, {"description": "x" * 201}, {}):
        r = client.patch(url, json=bad, headers=auth(creds))
        assert r.status_code == 400, bad
    assert client.get(BASE, headers=auth(creds)).get_json()["webhooks"][0]["events"] == got["events"]


def test_a_url_carrying_a_secret_is_shown_without_it_and_stored_in_full(client, tenant, fakes, db):
    from server.notify.models import WebhookEndpoint

    _, creds = tenant
    receiver, _ = fakes
    full = receiver.url + "/T0AB12CD/aZ3kQ9pLm2Xy7Rt4Uv8W?token=s3cr3t-value"
    r = client.post(BASE, json={"url": full}, headers=auth(creds))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    listed = client.get(BASE, headers=auth(creds)).get_data(as_text=True)
    for shown in (str(made), listed):
        assert "s3cr3t-value" not in shown and "aZ3kQ9pLm2Xy7R" not in shown and "ops:pw" not in shown
    assert made["url"].endswith("/T0AB12CD/…Uv8W?…")
    with db.session() as s:  # what is stored and called is the URL as given
        assert s.get(WebhookEndpoint, made["id"]).url == full


def test_pagerduty_needs_a_routing_key_and_no_url(client, tenant):
    _, creds = tenant
    r = client.post(BASE, json={"format": "pagerduty"}, headers=auth(creds))
    assert r.status_code == 400 and "routing_key" in r.get_json()["error"]["fields"]
    r = client.post(BASE, json={"format": "pagerduty", "routing_key": fake_receivers.ROUTING_KEY,
                                "url": "https://x.example/"}, headers=auth(creds))
    assert r.status_code == 400 and "url" in r.get_json()["error"]["fields"]
    r = client.post(BASE, json={"format": "pagerduty", "routing_key": fake_receivers.ROUTING_KEY}, headers=auth(creds))
    assert r.status_code == 201 and r.get_json()["url"] is None and "signing_secret" not in r.get_json()
    assert fake_receivers.ROUTING_KEY not in r.get_data(as_text=True)


@pytest.mark.parametrize("body, field", [
    ({}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "https://x.example/", "events": []}, "events"),
    ({"url": "https://x.example/", "events": ["exploded"]}, "events"),
    ({"url": "https://x.example/", "kinds": ["weather"]}, "kinds"),
    ({"url": "https://x.example/", "format": "carrier-pigeon"}, "format"),
    ({"url": "https://x.example/", "routing_key": fake_receivers.ROUTING_KEY}, "routing_key"),
    ({"url": "https://x.example/", "description": "x" * 201}, "description"),
    ({"url": "https://x.example/" + "a" * 500}, "url"),
])
def test_bad_bodies_get_400_naming_the_field(client, tenant, body, field):
    _, creds = tenant
    r = client.post(BASE, json=body, headers=auth(creds))
    assert r.status_code == 400
    assert field in r.get_json()["error"]["fields"]


def test_a_deployment_refuses_plain_http_and_private_addresses(app, client, tenant):
    _, creds = tenant
    app.config.update(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_REQUIRE_HTTPS=True)
    for url, words in (("http://hooks.customer.example/x", "https"),
                       ("https://127.0.0.1:8443/x", "private"), ("https://169.254.169.254/latest", "private"),
                       ("https://[::1]/x", "private")):
        r = client.post(BASE, json={"url": url}, headers=auth(creds))
        assert r.status_code == 400, url
        assert words in r.get_json()["error"]["fields"]["url"][0]


def test_the_list_says_whether_a_new_url_must_use_https_as_the_page_labels_it(app, client, tenant):
    _, creds = tenant
    # this module's deployment allows plain http (its fakes listen on it): the page's field says so
    assert client.get(BASE, headers=auth(creds)).get_json()["require_https"] is False
    assert client.post(BASE, json={"url": "http://example.com/hook"}, headers=auth(creds)).status_code == 201
    app.config.update(WEBHOOK_REQUIRE_HTTPS="1")  # the default: "URL (https)", and http is refused
    listed = client.get(BASE, headers=auth(creds)).get_json()
    assert listed["require_https"] is True and len(listed["webhooks"]) == 1
    r = client.post(BASE, json={"url": "http://example.com/hook"}, headers=auth(creds))
    assert r.status_code == 400 and r.get_json()["error"]["fields"]["url"] == ["the URL must use https"]


def test_at_most_max_webhooks(client, tenant):
    _, creds = tenant
    for i in range(MAX_WEBHOOKS):
        assert client.post(BASE, json={"url": f"http://127.0.0.1:9/{i}"}, headers=auth(creds)).status_code == 201
    r = client.post(BASE, json={"url": "http://127.0.0.1:9/x"}, headers=auth(creds))
    assert r.status_code == 409


def test_deliveries_show_how_each_went_and_tenants_see_only_their_own(app, client, db, make_tenant, fakes):
    receiver, _ = fakes
    a, a_creds = make_tenant("A")
    _, b_creds = make_tenant("B")
    hook = client.post(BASE, json={"url": receiver.url}, headers=auth(a_creds)).get_json()
    with db.session() as s:
        enqueue(s, a.id, 7, "opened", incident_payload(7), T0, generation=0)
        enqueue(s, a.id, 7, "resolved", incident_payload(7), T0, generation=1)
        s.commit()
    receiver.fail(500)
    sender = WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False, clock=lambda: T0)
    sender.run_once()
    got = client.get(f"{BASE}/{hook['id']}/deliveries", headers=auth(a_creds)).get_json()["deliveries"]
    assert [(d["seq"], d["state"], d["status"], d["error"]) for d in got] == [
        (1, "pending", None, None), (0, "pending", 500, "http_500")]
    assert got[1]["event_id"] == f"evt_{a.id}_7_0" and got[1]["attempts"] == 1 and got[1]["next_attempt_at"]
    listed = client.get(BASE, headers=auth(a_creds)).get_json()["webhooks"][0]
    assert listed["pending"] == 2
    for path in (f"{BASE}/{hook['id']}/deliveries", f"{BASE}/{hook['id']}/test"):
        method = client.get if path.endswith("deliveries") else client.post
        assert method(path, headers=auth(b_creds)).status_code == 404
    assert client.delete(f"{BASE}/{hook['id']}", headers=auth(b_creds)).status_code == 404
    assert client.get(BASE, headers=auth(b_creds)).get_json()["webhooks"] == []
    assert client.get(f"{BASE}/{hook['id']}/deliveries?limit=0", headers=auth(a_creds)).status_code == 400


def test_the_test_endpoint_sends_a_signed_ping(client, tenant, fakes):
    _, creds = tenant
    receiver, _ = fakes
    hook = client.post(BASE, json={"url": receiver.url}, headers=auth(creds)).get_json()
    receiver.secret = hook["signing_secret"]
    r = client.post(f"{BASE}/{hook['id']}/test", headers=auth(creds))
    assert r.get_json() == {"ok": True, "status": 204, "error": None}
    assert receiver.events[0]["type"] == "ping" and receiver.requests[0]["signed"]
    receiver.fail(410)
    assert client.post(f"{BASE}/{hook['id']}/test", headers=auth(creds)).get_json() == {
        "ok": False, "status": 410, "error": "http_410"}


def test_the_pagerduty_test_alert_is_resolved_at_once(client, tenant, fakes):
    _, creds = tenant
    _, pagerduty = fakes
    hook = client.post(BASE, json={"format": "pagerduty", "routing_key": fake_receivers.ROUTING_KEY},
                       headers=auth(creds)).get_json()
    r = client.post(f"{BASE}/{hook['id']}/test", headers=auth(creds))
    assert r.get_json()["ok"] is True
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
    assert pagerduty.events[0]["payload"]["severity"] == "info"
    assert list(pagerduty.alerts.values()) == ["resolved"]


def test_delete_removes_the_endpoint(client, tenant):
    _, creds = tenant
    hook = client.post(BASE, json={"url": "http://127.0.0.1:9/x"}, headers=auth(creds)).get_json()
    assert client.delete(f"{BASE}/{hook['id']}", headers=auth(creds)).status_code == 204
    assert client.get(BASE, headers=auth(creds)).get_json()["webhooks"] == []
    assert client.delete(f"{BASE}/{hook['id']}", headers=auth(creds)).status_code == 404


def test_needs_a_token(client):
    assert client.get(BASE).status_code == 401
    assert client.post(BASE, json={"url": "https://x.example/"}).status_code == 401


def test_the_incident_says_what_was_sent_about_it(client, db, tenant, fakes):
    from server.notify.client import SlackClient
    from server.notify.outbox import Notifier
    from tests.incidents.factories import add_incident

    t, creds = tenant
    receiver, _ = fakes
    add_incident(db, t.id, 7)
    hook = client.post(BASE, json={"url": receiver.url, "description": "ops <bridge>"}, headers=auth(creds)).get_json()
    with db.session() as s:
        enqueue(s, t.id, 7, "opened", incident_payload(7), T0, generation=0)
        enqueue(s, t.id, 7, "grew", incident_payload(7), T0, generation=1)
        s.commit()
    receiver.fail(204)  # the first answer is fine
    receiver.fail(503)
    WebhookSender(db, secret_key=TEST_SECRET_KEY, allow_private=True, require_https=False, clock=lambda: T0).run_once()
    Notifier(db, secret_key=TEST_SECRET_KEY, client=SlackClient(), clock=lambda: T0).run_once()  # no Slack set up
    notes = client.get("/api/v1/incidents/7", headers=auth(creds)).get_json()["notifications"]
    assert [(n["seq"], n["event"], n["slack"]["state"]) for n in notes] == [
        (0, "opened", "not_configured"), (1, "grew", "not_configured")]
    assert [(w["webhook_id"], w["description"], w["state"], w["status"]) for n in notes for w in n["webhooks"]] == [
        (hook["id"], "ops <bridge>", "delivered", 204), (hook["id"], "ops <bridge>", "pending", 503)]
    assert notes[1]["webhooks"][0]["error"] == "http_503" and notes[1]["webhooks"][0]["attempts"] == 1
