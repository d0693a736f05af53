"""PagerDuty's v3 webhooks back to Groundswell: signed deliveries, as PagerDuty sends them, against the
real endpoint."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from server.eventlog import Event
from server.incidents.models import Incident
from server.notify.pagerduty_inbound import sign, verified
from tests.incidents.factories import add_incident, auth

SECRET = "pd-webhook-secret-0123456789ABCDEF+/="


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return {**app_config, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_REQUIRE_HTTPS": False}


def delivery(event_type: str, incident_key: str, agent: str | None = "Dana Oncall", *,
             agent_type: str = "user_reference", occurred_at: str | None = None) -> bytes:
    """A PagerDuty v3 webhook body (the fields Groundswell reads, among the ones PagerDuty sends)."""
    at = occurred_at or datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"event": {
        "id": "01DEN1HNLCHF1B4M9D0K0CZ", "event_type": event_type, "resource_type": "incident",
        "occurred_at": at,
        "agent": None if agent is None else {"id": "PLH1HKV", "summary": agent, "type": agent_type,
                                              "html_url": "https://acme.pagerduty.com/users/PLH1HKV"},
        "client": {"name": "PagerDuty"},
        "data": {"id": "PGR0VU2", "type": "incident", "number": 2, "status": event_type.split(".")[-1],
                 "incident_key": incident_key, "title": "Spike: 'invoice pdf'", "urgency": "high",
                 "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2"}}}).encode()


@pytest.fixture
def pd(client, db, tenant):  # type: ignore[no-untyped-def]
    """A tenant with a pagerduty webhook holding its PagerDuty subscription's secret, and open incident #12."""
    t, creds = tenant
    created = client.post("/api/v1/settings/webhooks", headers=auth(creds), json={
        "format": "pagerduty", "routing_key": "R0UTINGKEY0123456789abcdef", "pagerduty_webhook_secret": SECRET})
    assert created.status_code == 201, created.get_json()
    add_incident(db, t.id, 12)
    return t, created.get_json()


def post(client: Any, webhook_id: int, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return client.post(f"/api/v1/webhooks/pagerduty/{webhook_id}", data=body, headers=headers)


def status(db: Any, tenant_id: int, incident_id: int = 12) -> tuple[str, str]:
    with db.session() as s:
        incident = s.get(Incident, (tenant_id, incident_id))
        return incident.status, incident.status_by


def test_signatures_are_v1_hmacs_and_any_of_several_may_match():
    body = b'{"event": {}}'
    good = sign("s3cret-s3cret-s3cret", body)
    assert good.startswith("v1=") and len(good) == 67
    assert verified("s3cret-s3cret-s3cret", good, body)
    assert verified("s3cret-s3cret-s3cret", f"v1={'0' * 64},{good}", body)  # a secret being rotated
    assert not verified("s3cret-s3cret-s3cret", good, body + b" ")
    assert not verified("other-other-other-1", good, body)
    assert not verified(None, good, body) and not verified("s3cret-s3cret-s3cret", None, body)
    assert not verified("s3cret-s3cret-s3cret", "v1=\u00e9", body)


def test_acknowledged_then_resolved_in_pagerduty_reach_the_incident(client, db, pd):
    t, hook = pd
    assert hook["pagerduty_webhook_url"] == f"http://localhost/api/v1/webhooks/pagerduty/{hook['id']}"
    assert hook["pagerduty_webhook_secret_set"] is True and SECRET not in json.dumps(hook)
    key = f"groundswell-{t.id}-12"
    body = delivery("incident.acknowledged", key)
    resp = post(client, hook["id"], body, sign(SECRET, body))
    assert resp.status_code == 200 and resp.get_json() == {"incident_id": 12, "status": "acknowledged"}
    assert status(db, t.id) == ("acknowledged", "Dana Oncall (PagerDuty)")
    again = post(client, hook["id"], body, sign(SECRET, body))  # PagerDuty retries a delivery
    assert again.get_json() == {"incident_id": None, "status": None}
    body = delivery("incident.resolved", key, agent="Ops \ud800Lead\u0000")
    assert post(client, hook["id"], body, sign(SECRET, body)).get_json() == {"incident_id": 12, "status": "resolved"}
    assert status(db, t.id) == ("resolved", "Ops Lead (PagerDuty)")  # stored as printable text
    with db.session() as s:
        kinds = [e.payload["status"] for e in s.scalars(select(Event).where(Event.tenant_id == t.id,
                                                                            Event.kind == "control.status"))]
    assert kinds == ["acknowledged", "resolved"]  # the detector learns them as a person's changes


def test_other_events_tools_and_tenants_change_nothing(client, db, pd, make_tenant):
    t, hook = pd
    other, _ = make_tenant("Other")
    add_incident(db, other.id, 12)
    key = f"groundswell-{t.id}-12"
    for body in (delivery("incident.resolved", key, agent="Acme API", agent_type="service_reference"),  # auto-resolve
                 delivery("incident.resolved", key, agent="Groundswell", agent_type="inbound_integration_reference"),
                 delivery("incident.resolved", key, agent=None),
                 delivery("incident.acknowledged", key, occurred_at="2026-03-02T10:15:22.169Z"),  # before it opened
                 delivery("incident.acknowledged", f"groundswell-{t.id}-999999999999"),  # beyond the id column
                 delivery("incident.priority_updated", f"groundswell-{t.id}-12"),
                 delivery("incident.unacknowledged", f"groundswell-{t.id}-12"),
                 delivery("incident.acknowledged", "d3640fbd41094207a1c11e58e46b1662"),  # another tool's alert
                 delivery("incident.acknowledged", f"groundswell-{other.id}-12"),  # another tenant's incident
                 delivery("incident.acknowledged", f"groundswell-{t.id}-99")):  # no such incident
        resp = post(client, hook["id"], body, sign(SECRET, body))
        assert resp.status_code == 200 and resp.get_json() == {"incident_id": None, "status": None}
    assert status(db, t.id) == ("open", "detector") and status(db, other.id) == ("open", "detector")


def test_unsigned_or_unknown_deliveries_are_401_and_bad_bodies_400(client, db, pd, tenant):
    t, hook = pd
    _, creds = tenant
    body = delivery("incident.acknowledged", f"groundswell-{t.id}-12")
    for webhook_id, signature in ((hook["id"], None), (hook["id"], sign("wrong-secret-000000", body)),
                                  (hook["id"], "v1=\u00e9"), (hook["id"] + 1000, sign(SECRET, body)), (0, "x")):
        resp = post(client, webhook_id, body, signature)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"
    assert status(db, t.id) == ("open", "detector")
    for bad in (b"not json", b"[]", b'{"event": 3}', b"{}", b"[" * 100_000 + b"]" * 100_000):
        resp = post(client, hook["id"], bad, sign(SECRET, bad))
        assert resp.status_code == 400, bad
    # a groundswell-format webhook has no inbound side
    mine = client.post("/api/v1/settings/webhooks", headers=auth(creds),
                       json={"url": "http://127.0.0.1:9/hook"}).get_json()
    assert mine["pagerduty_webhook_url"] is None and mine["pagerduty_webhook_secret_set"] is False
    assert post(client, mine["id"], body, sign(SECRET, body)).status_code == 401


def test_the_secret_is_set_and_removed_by_patch(client, db, tenant):
    t, creds = tenant
    hook = client.post("/api/v1/settings/webhooks", headers=auth(creds), json={
        "format": "pagerduty", "routing_key": "R0UTINGKEY0123456789abcdef"}).get_json()
    assert hook["pagerduty_webhook_secret_set"] is False
    add_incident(db, t.id, 12)
    body = delivery("incident.acknowledged", f"groundswell-{t.id}-12")
    assert post(client, hook["id"], body, sign(SECRET, body)).status_code == 401  # no secret yet
    url = f"/api/v1/settings/webhooks/{hook['id']}"
    resp = client.patch(url, headers=auth(creds), json={"pagerduty_webhook_secret": SECRET})
    assert resp.status_code == 200 and resp.get_json()["pagerduty_webhook_secret_set"] is True
    assert SECRET not in resp.get_data(as_text=True)
    assert post(client, hook["id"], body, sign(SECRET, body)).status_code == 200
    assert client.patch(url, headers=auth(creds), json={"pagerduty_webhook_secret": None}).get_json()[
        "pagerduty_webhook_secret_set"] is False
    assert post(client, hook["id"], body, sign(SECRET, body)).status_code == 401
    assert client.patch(url, headers=auth(creds), json={"pagerduty_webhook_secret": "short"}).status_code == 400
    assert client.patch(url, headers=auth(creds), json={}).status_code == 400
    assert client.patch("/api/v1/settings/webhooks/999", headers=auth(creds),
                        json={"pagerduty_webhook_secret": SECRET}).status_code == 404
    mine = client.post("/api/v1/settings/webhooks", headers=auth(creds),
                       json={"url": "http://127.0.0.1:9/hook"}).get_json()
    wrong = client.patch(f"/api/v1/settings/webhooks/{mine['id']}", headers=auth(creds),
                         json={"pagerduty_webhook_secret": SECRET})
    assert wrong.status_code == 400 and "pagerduty_webhook_secret" in wrong.get_json()["error"]["fields"]
    refused = client.post("/api/v1/settings/webhooks", headers=auth(creds),
                          json={"url": "http://127.0.0.1:9/hook", "pagerduty_webhook_secret": SECRET})
    assert refused.status_code == 400 and "pagerduty_webhook_secret" in refused.get_json()["error"]["fields"]
