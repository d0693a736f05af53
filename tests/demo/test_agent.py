"""The fake Zendesk agent page's blueprint: only with DEMO_PAGES, serves the built files with a strict CSP,
and lists one tenant's tickets to its own token."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from server import create_app
from server.demo import agent
from server.topics.models import Ticket


@pytest.fixture
def demo_app(db: Any, app_config: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    app_dir, host_dir = tmp_path / "app", tmp_path / "host"
    (app_dir / "assets").mkdir(parents=True)
    host_dir.mkdir()
    (app_dir / "assets" / "iframe.html").write_text("<!doctype html><title>app</title>")
    (host_dir / "host.html").write_text("<!doctype html><title>host</title>")
    (host_dir / "host.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("do not serve")
    monkeypatch.setattr(agent, "APP_DIR", app_dir)
    monkeypatch.setattr(agent, "HOST_DIR", host_dir)
    application = create_app({**app_config, "DEMO_PAGES": "1"})
    yield application
    application.extensions["groundswell.db"].dispose()


def _tickets(db: Any, tenant_id: int, subjects: list[str]) -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
    with db.session() as session:
        for i, subject in enumerate(subjects):
            session.add(Ticket(tenant_id=tenant_id, zendesk_id=str(100 + i), subject=subject, status="open",
                               created_at=start + timedelta(minutes=i)))
        session.commit()


def test_pages_are_absent_unless_enabled(client: Any) -> None:
    assert client.get("/demo/zendesk").status_code == 404
    assert client.get("/demo/zendesk/app/assets/iframe.html").status_code == 404


def test_serves_the_host_and_the_app_with_a_content_security_policy(demo_app: Any) -> None:
    c = demo_app.test_client()
    host = c.get("/demo/zendesk")
    assert host.status_code == 200 and b"<title>host</title>" in host.data
    assert "script-src 'self'" in host.headers["Content-Security-Policy"]
    page = c.get("/demo/zendesk/app/assets/iframe.html")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'none'" in csp and "unsafe-inline" not in csp
    assert c.get("/demo/zendesk/host/host.js").status_code == 200


@pytest.mark.parametrize("path", ["/demo/zendesk/app/../secret.txt", "/demo/zendesk/app/%2e%2e/secret.txt",
                                  "/demo/zendesk/app/assets/missing.js", "/demo/zendesk/host/../secret.txt"])
def test_nothing_outside_the_build_is_served(demo_app: Any, path: str) -> None:
    response = demo_app.test_client().get(path)
    assert response.status_code == 404
    assert b"do not serve" not in response.data


def test_an_unbuilt_app_answers_404_saying_how_to_build(demo_app: Any, tmp_path: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent, "HOST_DIR", tmp_path / "nowhere")
    response = demo_app.test_client().get("/demo/zendesk")
    assert response.status_code == 404
    assert "npm run build" in response.get_json()["error"]["message"]


def test_ticket_list_needs_the_token_and_shows_only_that_tenants_tickets(demo_app: Any, db: Any,
                                                                         make_tenant: Any) -> None:
    acme, acme_creds = make_tenant("Acme")
    other, other_creds = make_tenant("Other")
    _tickets(db, acme.id, ["first", "<img src=x onerror=alert(1)>", "third"])
    _tickets(db, other.id, ["not yours"])
    c = demo_app.test_client()
    assert c.get("/demo/zendesk/tickets.json").status_code == 401
    body = c.get("/demo/zendesk/tickets.json?limit=2",
                 headers={"Authorization": f"Bearer {acme_creds.api_token}"}).get_json()
    assert [t["id"] for t in body["tickets"]] == ["102", "101"]
    assert body["tickets"][1]["subject"] == "<img src=x onerror=alert(1)>"
    theirs = c.get("/demo/zendesk/tickets.json", headers={"Authorization": f"Bearer {other_creds.api_token}"})
    assert [t["subject"] for t in theirs.get_json()["tickets"]] == ["not yours"]
    bad = c.get("/demo/zendesk/tickets.json?limit=1000", headers={"Authorization": f"Bearer {acme_creds.api_token}"})
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["fields"]


def test_demo_zendesk_connects_the_tenant_and_copies_its_tickets(db: Any, app_config: dict[str, Any],
                                                                 make_tenant: Any) -> None:
    from server.zendesk.models import ZendeskConnection

    acme, _ = make_tenant("Acme")
    _tickets(db, acme.id, ["blank invoice", "login loop"])
    demo = agent.DemoZendesk(app_config, slug=acme.slug)
    try:
        assert demo.env == {"ZENPY_FORCE_SCHEME": "http", "ZENPY_FORCE_NETLOC": demo.fake.netloc}
        with db.session() as session:
            assert session.get(ZendeskConnection, acme.id) is not None
        assert demo.mirror_once() == 2
        assert demo.mirror_once() == 0
        assert demo.fake.ticket(101)["subject"] == "login loop"
        made = requests.post(f"{demo.fake.base_url}/api/v2/tickets.json", timeout=5,
                             auth=(f"{demo.fake.email}/token", demo.fake.token),
                             json={"ticket": {"type": "problem", "subject": "p", "comment": {"body": "b"}}})
        assert made.status_code in (200, 201)
        assert made.json()["ticket"]["id"] > agent.PROBLEM_IDS_FROM  # never a replayed ticket's number
    finally:
        demo.stop()


def test_ticket_list_marks_tickets_of_live_incidents(demo_app: Any, db: Any, make_tenant: Any) -> None:
    from server.incidents.models import Incident, IncidentTicket

    acme, creds = make_tenant("Acme")
    other, _ = make_tenant("Other")
    _tickets(db, acme.id, ["a", "b", "c"])
    _tickets(db, other.id, ["x", "y", "z"])
    at = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)

    def incident(tenant_id: int, incident_id: int, status: str, tickets: list[str], kind: str = "spike") -> None:
        with db.session() as session:
            session.add(Incident(tenant_id=tenant_id, id=incident_id, kind=kind, status=status, status_by="detector",
                                 status_changed_at=at, series="all", title="t", sentence="s", direction="up",
                                 first_seen_at=at, detected_at=at, last_activity_at=at, ticket_count=len(tickets),
                                 requester_count=1, account_count=1, p_value=0.001, surprise=3.0, evidence={},
                                 updated_at=at))
            for zid in tickets:
                session.add(IncidentTicket(tenant_id=tenant_id, incident_id=incident_id, zendesk_id=zid, attached_at=at))
            session.commit()

    incident(acme.id, 1, "resolved", ["100"])
    incident(acme.id, 2, "open", ["101"])
    incident(other.id, 2, "open", ["100", "102"])  # another tenant's incident marks none of acme's tickets
    headers = {"Authorization": f"Bearer {creds.api_token}"}
    c = demo_app.test_client()
    every = c.get("/demo/zendesk/tickets.json", headers=headers).get_json()["tickets"]
    assert [(t["id"], t["incident_id"]) for t in every] == [("102", None), ("101", 2), ("100", None)]
    live = c.get("/demo/zendesk/tickets.json?in_incident=true", headers=headers).get_json()["tickets"]
    assert [t["id"] for t in live] == ["101"]
    # a newer change of tone on the same ticket: the list names the problem, as the sidebar's banner does
    incident(acme.id, 3, "open", ["101", "102"], kind="sentiment")
    every = c.get("/demo/zendesk/tickets.json", headers=headers).get_json()["tickets"]
    assert [(t["id"], t["incident_id"]) for t in every] == [("102", 3), ("101", 2), ("100", None)]
