"""The fake Zendesk agent page's blueprint: only with DEMO_PAGES, serves the built files with a strict CSP,
lists one tenant's tickets to its own token, and shows an open ticket as the tenant's Zendesk has it."""

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


def _tickets(db: Any, tenant_id: int, subjects: list[str], status: str = "open", type_: str | None = None) -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
    with db.session() as session:
        for i, subject in enumerate(subjects):
            session.add(Ticket(tenant_id=tenant_id, zendesk_id=str(100 + i), subject=subject, status=status,
                               type=type_, created_at=start + timedelta(minutes=i)))
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
        # status and type as the ticket came in, not made up by the fake (it calls every fifth one an incident)
        assert demo.fake.ticket(100)["status"] == "open" and demo.fake.ticket(100)["type"] is None
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


def test_an_open_ticket_reads_as_zendesk_has_it_and_shows_the_sidebars_link(demo_app: Any, db: Any, make_tenant: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The sidebar's link sets the ticket's type to incident with its problem_id in Zendesk; the agent page
    reads the open ticket from there, so it shows the incident and its problem as Zendesk would."""
    from server.config import secret_key
    from server.zendesk.connection import connect
    from server.zendesk.fake import FakeZendesk, make_ticket

    acme, creds = make_tenant("Acme")
    _tickets(db, acme.id, ["blank invoice"], status="new", type_="question")
    fake = FakeZendesk(email="admin@acme.test", token="t0ken").start()
    try:
        monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
        monkeypatch.setenv("ZENPY_FORCE_NETLOC", fake.netloc)
        fake.add_ticket(make_ticket(100, subject="blank invoice", status="open", ticket_type="question"))
        fake.add_ticket(make_ticket(9000001, subject="Spike: blank invoices", ticket_type="problem"))
        with db.session() as session:
            connect(session, acme.id, subdomain="acme", email=fake.email, token=fake.token,
                    secret_key=secret_key(demo_app.config), now=datetime.now(timezone.utc))
            session.commit()
        c = demo_app.test_client()
        headers = {"Authorization": f"Bearer {creds.api_token}"}
        before = c.get("/demo/zendesk/tickets/100.json", headers=headers).get_json()["ticket"]
        assert before == {"id": "100", "subject": "blank invoice", "status": "open", "type": "question",
                          "problem_id": None, "source": "zendesk"}
        # What server.zendesk.problems does for the sidebar's button: type incident, under problem 9000001.
        linked = requests.put(f"{fake.base_url}/api/v2/tickets/100.json", auth=(f"{fake.email}/token", fake.token),
                              json={"ticket": {"type": "incident", "problem_id": 9000001}}, timeout=5)
        assert linked.ok
        after = c.get("/demo/zendesk/tickets/100.json", headers=headers).get_json()["ticket"]
        assert after == dict(before, type="incident", problem_id="9000001")
        # A ticket Zendesk does not have (yet) reads as Groundswell last heard of it.
        with db.session() as session:
            session.add(Ticket(tenant_id=acme.id, zendesk_id="101", subject="not copied yet", status="open",
                               type="question"))
            session.commit()
        assert c.get("/demo/zendesk/tickets/101.json", headers=headers).get_json()["ticket"] == {
            "id": "101", "subject": "not copied yet", "status": "open", "type": "question", "problem_id": None,
            "source": "groundswell"}
    finally:
        fake.stop()


def test_without_zendesk_an_open_ticket_reads_as_groundswell_has_it(demo_app: Any, db: Any,
                                                                   make_tenant: Any) -> None:
    acme, creds = make_tenant("Acme")
    other, other_creds = make_tenant("Other")
    _tickets(db, acme.id, ["blank invoice"], type_="question")
    c = demo_app.test_client()
    assert c.get("/demo/zendesk/tickets/100.json").status_code == 401
    body = c.get("/demo/zendesk/tickets/100.json", headers={"Authorization": f"Bearer {creds.api_token}"}).get_json()
    assert body["ticket"] == {"id": "100", "subject": "blank invoice", "status": "open", "type": "question",
                              "problem_id": None, "source": "groundswell"}
    theirs = c.get("/demo/zendesk/tickets/100.json", headers={"Authorization": f"Bearer {other_creds.api_token}"})
    assert theirs.status_code == 404
    for bad in ("999", "1e3", "12345678901234567890", "%D9%A1"):  # unknown, not digits, too long, Arabic-Indic one
        assert c.get(f"/demo/zendesk/tickets/{bad}.json",
                     headers={"Authorization": f"Bearer {creds.api_token}"}).status_code == 404
