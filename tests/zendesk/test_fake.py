"""The local fake Zendesk: wire format, request log, signed webhook deliveries to a real server."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import requests
from werkzeug.serving import make_server

from server.tenants import Tenant
from server.zendesk.fake import FakeZendesk, make_ticket
from server.zendesk.install import install
from tests.conftest import TEST_SECRET_KEY, log_rows


def test_request_log_is_served_as_json(fake_zendesk):
    fake_zendesk.tickets = [make_ticket(7)]
    auth = (f"{fake_zendesk.email}/token", fake_zendesk.token)
    requests.put(f"{fake_zendesk.base_url}/api/v2/tickets/7.json", auth=auth,
                 json={"ticket": {"comment": {"body": "note", "public": False}, "additional_tags": ["x"]}},
                 headers={"X-Zendesk-Marketplace-Name": "Groundswell"})
    requests.get(f"{fake_zendesk.base_url}/api/v2/tickets/7.json")
    log = requests.get(f"{fake_zendesk.base_url}/__fake/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"], r["auth"]) for r in log] == [
        ("PUT", "/api/v2/tickets/7.json", 200, "api_token"), ("GET", "/api/v2/tickets/7.json", 401, "none")]
    assert log[0]["body"]["ticket"]["comment"]["public"] is False
    assert log[0]["marketplace"] == {"X-Zendesk-Marketplace-Name": "Groundswell"}
    shown = requests.get(f"{fake_zendesk.base_url}/__fake/tickets/7").json()
    assert shown["ticket"]["tags"] == ["billing", "invoice", "x"] and shown["comments"][0]["body"] == "note"


def test_unknown_records_and_invalid_bodies_answer_like_zendesk(fake_zendesk):
    auth = (f"{fake_zendesk.email}/token", fake_zendesk.token)
    assert requests.get(f"{fake_zendesk.base_url}/api/v2/tickets/1.json", auth=auth).status_code == 404
    bad = requests.post(f"{fake_zendesk.base_url}/api/v2/tickets.json", auth=auth, json={"ticket": {"subject": "x"}})
    assert bad.status_code == 422 and bad.json()["error"] == "RecordInvalid"
    assert requests.get(f"{fake_zendesk.base_url}/api/v2/nothing", auth=auth).status_code == 404


def test_auto_delivered_webhooks_reach_a_real_server_signed(app, db, tenant, monkeypatch):
    t, _ = tenant
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake = FakeZendesk(auto_deliver=True, organizations={502: "Kestrel \"Logistics\""}).start()
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", fake.netloc)
    try:
        with db.session() as s:
            install(s, s.get(Tenant, t.id), subdomain="acme", public_url=f"http://127.0.0.1:{server.server_port}",
                    secret_key=TEST_SECRET_KEY, now=datetime.now(timezone.utc), email=fake.email, token=fake.token)
        fake.add_ticket(make_ticket(5))
        fake.solve(5)
        deadline = time.monotonic() + 10
        while not fake.delivery_results and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.delivery_results == [202]
        [event] = log_rows(db, t.id)
        assert event.kind == "zendesk.trigger" and event.payload["ticket_id"] == "5"
        assert event.payload["status"] == "Solved" and event.payload["event"] == "updated"
        # the organization's name rides along, JSON-escaped as Zendesk's placeholders are
        assert event.payload["organization_id"] == "502" and event.payload["organization_name"] == 'Kestrel "Logistics"'
    finally:
        fake.stop()
        server.shutdown()
