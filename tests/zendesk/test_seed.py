"""The browser tests' seed (e2e/seeds/sidebar.py) gives what its contract promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import requests

from tests.incidents.factories import auth

SEED = Path(__file__).resolve().parents[2] / "e2e" / "seeds" / "sidebar.py"


def test_sidebar_seed_contract(app, client, db, tenant, monkeypatch):
    t, creds = tenant
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")  # the seed sets both; restored after the test
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "127.0.0.1:9")
    spec = importlib.util.spec_from_file_location("sidebar_seed", SEED)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    out = module.seed(SimpleNamespace(app=app, db=db, tenant_id=t.id, slug=t.slug, creds=creds, options={}))
    assert set(out) == {"zendesk_url", "incident_id", "incident_ticket_id", "plain_ticket_id", "xss_ticket_id",
                        "unknown_ticket_id", "plain_organization_id"}
    h = auth(creds)

    def context(ticket_id: str):  # type: ignore[no-untyped-def]
        return client.get(f"/api/v1/tickets/{ticket_id}/context", headers=h)

    incident = context(out["incident_ticket_id"]).get_json()
    assert incident["banner"]["incident_id"] == out["incident_id"] and incident["incidents"][0]["status"] == "open"
    assert incident["incidents"][0]["volume"] and incident["incidents"][0]["evidence"]["representatives"]
    xss = context(out["xss_ticket_id"]).get_json()
    assert xss["ticket"]["subject"] == "<img src=x onerror=alert(1)>" and xss["incidents"][0]["attached"]
    reps = [r["ticket_id"] for r in xss["incidents"][0]["evidence"]["representatives"]]
    assert out["xss_ticket_id"] in reps
    plain = context(out["plain_ticket_id"]).get_json()
    assert plain["topic"] and plain["incidents"] == []
    assert plain["account"]["account_id"] == out["plain_organization_id"] and plain["account"]["direction"] == "up"
    assert incident["account"] is None
    assert context(out["unknown_ticket_id"]).status_code == 404
    link = client.post(f"/api/v1/incidents/{out['incident_id']}/problem-ticket",
                       json={"ticket_id": out["incident_ticket_id"], "by": "Ann"}, headers=h)
    assert link.status_code == 200 and link.get_json()["created"] is True
    calls = requests.get(f"{out['zendesk_url']}/__fake/requests").json()["requests"]
    assert [c["method"] for c in calls] == ["POST", "PUT"]
