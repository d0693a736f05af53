"""The problem-ticket loop through zenpy against the fake Zendesk: POST /api/v1/incidents/<id>/problem-ticket."""

from __future__ import annotations

import threading

from sqlalchemy import select

from server.zendesk.fake import make_ticket
from server.zendesk.models import ProblemTicket, TicketLink
from server.zendesk.problems import problem_ticket_ids
from tests.incidents.factories import add_incident, auth


def _link(client, creds, incident_id=1, ticket_id="42", by="Ann Agent"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/incidents/{incident_id}/problem-ticket", json={"ticket_id": ticket_id, "by": by},
                       headers=auth(creds))


def test_first_link_creates_the_problem_ticket_then_reuses_it(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(42), make_ticket(43)]
    add_incident(db, t.id, 1, tickets=["42", "43"], sentence="17 tickets in 2 h where 3 were expected.")

    first = _link(client, creds, ticket_id="42")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["linked_ticket_id"] == "42" and body["created"] is True
    problem_id = body["problem_ticket_id"]
    problem = fake_zendesk.ticket(problem_id)
    assert problem["type"] == "problem" and problem["subject"] == "Spike #1"
    [note] = fake_zendesk.comments[problem_id]
    assert note["public"] is False and note["body"].startswith("17 tickets in 2 h where 3 were expected.")
    assert "/incidents#id=1" in note["body"]
    assert fake_zendesk.ticket(42)["type"] == "incident" and fake_zendesk.ticket(42)["problem_id"] == problem_id

    second = _link(client, creds, ticket_id="43").get_json()
    assert second == {"problem_ticket_id": problem_id, "linked_ticket_id": "43", "created": False}
    assert len(fake_zendesk.api_requests("POST", "/api/v2/tickets")) == 1  # one problem ticket, ever
    puts = fake_zendesk.api_requests("PUT", "/api/v2/tickets/")
    assert [r.body for r in puts] == [{"ticket": {"id": 42, "type": "incident", "problem_id": problem_id}},
                                      {"ticket": {"id": 43, "type": "incident", "problem_id": problem_id}}]
    assert all(r.auth == "api_token" for r in fake_zendesk.api_requests())
    with db.session() as s:
        links = s.scalars(select(TicketLink).order_by(TicketLink.zendesk_id)).all()
        assert [(l.zendesk_id, l.linked_by, l.state) for l in links] == [("42", "Ann Agent", "done"),
                                                                        ("43", "Ann Agent", "done")]
    with db.session() as s:
        assert problem_ticket_ids(s, t.id, [1]) == {1: problem_id}


def test_oauth_connection_sends_bearer_and_marketplace_headers(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id, oauth=True)
    fake_zendesk.tickets = [make_ticket(42)]
    add_incident(db, t.id, 1, tickets=["42"])
    assert _link(client, creds).status_code == 200
    requests = fake_zendesk.api_requests()
    assert requests and all(r.auth == "oauth" for r in requests)
    assert all(r.marketplace == {"X-Zendesk-Marketplace-Name": "Groundswell",
                                 "X-Zendesk-Marketplace-Organization-Id": "4242",
                                 "X-Zendesk-Marketplace-App-Id": "777"} for r in requests)


def test_marketplace_headers_from_configuration_on_token_installs(app, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    app.config.update(ZENDESK_MARKETPLACE_NAME="Groundswell", ZENDESK_MARKETPLACE_ORGANIZATION_ID="1",
                      ZENDESK_MARKETPLACE_APP_ID="2")
    fake_zendesk.tickets = [make_ticket(42)]
    add_incident(db, t.id, 1, tickets=["42"])
    assert _link(app.test_client(), creds).status_code == 200
    assert all(r.marketplace["X-Zendesk-Marketplace-App-Id"] == "2" for r in fake_zendesk.api_requests())


def test_unknown_incident_404_and_closed_incident_409(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    add_incident(db, t.id, 2, status="resolved")
    add_incident(db, t.id, 3, status="dismissed")
    assert _link(client, creds, incident_id=1).status_code == 404
    for incident_id in (2, 3):
        resp = _link(client, creds, incident_id=incident_id)
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    assert fake_zendesk.api_requests() == []


def test_no_connection_is_a_clear_502(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    resp = _link(client, creds)
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "zendesk_not_connected"
    assert "groundswell zendesk install" in resp.get_json()["error"]["message"]


def test_zendesk_failure_is_502_and_the_next_click_tries_again(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(42)]
    add_incident(db, t.id, 1, tickets=["42"])
    fake_zendesk.fail_next("POST", "/api/v2/tickets", 500)
    resp = _link(client, creds)
    assert resp.status_code == 502 and resp.get_json()["error"]["code"] == "zendesk_error"
    assert "HTTP 500" in resp.get_json()["error"]["message"] and "TOKEN" not in resp.get_data(as_text=True)
    with db.session() as s:
        assert s.scalars(select(ProblemTicket)).all() == []  # the claim was released
    again = _link(client, creds)
    assert again.status_code == 200 and again.get_json()["created"] is True


def test_linking_the_ticket_fails_after_the_problem_exists(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    add_incident(db, t.id, 1)
    resp = _link(client, creds, ticket_id="404404")  # Zendesk has no such ticket
    assert resp.status_code == 502
    with db.session() as s:
        assert s.scalars(select(ProblemTicket.problem_ticket_id)).one() is not None  # kept for the next try


def test_the_problem_ticket_itself_cannot_be_linked(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(42)]
    add_incident(db, t.id, 1, tickets=["42"])
    problem_id = _link(client, creds).get_json()["problem_ticket_id"]
    resp = _link(client, creds, ticket_id=str(problem_id))
    assert resp.status_code == 400 and "ticket_id" in resp.get_json()["error"]["fields"]


def test_bad_bodies_name_the_field(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    for body, field in (({"ticket_id": "abc", "by": "A"}, "ticket_id"), ({"ticket_id": "1"}, "by"),
                        ({"ticket_id": 1, "by": "A"}, "ticket_id"), ({"ticket_id": "1", "by": "a\x00"}, "by")):
        resp = client.post("/api/v1/incidents/1/problem-ticket", json=body, headers=auth(creds))
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"], body


def test_another_tenants_incident_is_not_found(client, db, make_tenant, fake_zendesk, connect_tenant):
    a, _ = make_tenant("Alpha")
    b, creds_b = make_tenant("Beta")
    connect_tenant(a.id)
    connect_tenant(b.id)
    add_incident(db, a.id, 1)
    assert _link(client, creds_b).status_code == 404
    assert fake_zendesk.api_requests() == []


def test_concurrent_first_links_make_one_problem_ticket(app, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(i) for i in range(40, 46)]
    add_incident(db, t.id, 1, tickets=[str(i) for i in range(40, 46)])
    slow = fake_zendesk._create_ticket

    def create_slowly(request):  # type: ignore[no-untyped-def]
        threading.Event().wait(0.3)  # the others arrive while the first create is in flight
        return slow(request)

    fake_zendesk._routes = [(m, p, create_slowly if fn == slow else fn) for m, p, fn in fake_zendesk._routes]
    results: list = []
    barrier = threading.Barrier(6)

    def click(ticket_id: int) -> None:
        c = app.test_client()
        barrier.wait()
        results.append(_link(c, creds, ticket_id=str(ticket_id)))

    threads = [threading.Thread(target=click, args=(i,)) for i in range(40, 46)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [r.status_code for r in results] == [200] * 6, [r.get_json() for r in results]
    bodies = [r.get_json() for r in results]
    assert len({b["problem_ticket_id"] for b in bodies}) == 1
    assert sum(b["created"] for b in bodies) == 1
    assert len(fake_zendesk.api_requests("POST", "/api/v2/tickets")) == 1
