"""The Zendesk worker: automatic linking of new incident tickets, incidents resolved by solved problems."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import select

from server.eventlog import SqlEventLog
from server.incidents.models import Incident
from server.incidents.writers import write_incident_ticket
from server.zendesk.fake import make_ticket
from server.zendesk.install import install
from server.zendesk.models import ProblemTicket, TicketLink
from server.zendesk.service import update_zendesk_settings
from server.zendesk.worker import MAX_ATTEMPTS, NAME_EVERY, ZendeskWorker
from tests.conftest import TEST_SECRET_KEY
from tests.incidents.factories import add_incident, auth, control_events


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _worker(app, db, clock=None) -> ZendeskWorker:  # type: ignore[no-untyped-def]
    return ZendeskWorker(db, SqlEventLog(), app.config, secret_key=TEST_SECRET_KEY, clock=clock or Clock())


def _attach(db, tenant_id: int, incident_id: int, zendesk_id: str) -> None:  # type: ignore[no-untyped-def]
    """What the detector's writer does when a ticket joins an incident."""
    with db.session() as s:
        write_incident_ticket(s, (tenant_id, incident_id, zendesk_id), {"attached_at": datetime.now(timezone.utc)},
                              datetime.now(timezone.utc))
        s.commit()


def _setup(client, db, tenant, fake_zendesk, connect_tenant, *, auto_link=True):  # type: ignore[no-untyped-def]
    t, creds = tenant
    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(i) for i in range(40, 50)]
    add_incident(db, t.id, 1, tickets=["40"], sentence="12 tickets from 12 customers in 2 h about 'invoice pdf'.")
    with db.session() as s:
        update_zendesk_settings(s, t.id, auto_link=auto_link)
    resp = client.post("/api/v1/incidents/1/problem-ticket", json={"ticket_id": "40", "by": "Ann"},
                       headers=auth(creds))
    return resp.get_json()["problem_ticket_id"]


def test_new_incident_tickets_are_linked_with_an_internal_note(app, client, db, tenant, fake_zendesk,
                                                               connect_tenant):
    t, _ = tenant
    problem_id = _setup(client, db, tenant, fake_zendesk, connect_tenant)
    _attach(db, t.id, 1, "41")
    _attach(db, t.id, 1, "41")  # a replay rewrites the row: nothing queued twice
    _attach(db, t.id, 1, str(problem_id))  # the problem ticket itself is never linked to itself
    with db.session() as s:
        assert [(l.zendesk_id, l.state) for l in s.scalars(select(TicketLink).order_by(TicketLink.zendesk_id))] == \
            [("40", "done"), ("41", "pending")]
    assert _worker(app, db).run_once() == 1
    ticket = fake_zendesk.ticket(41)
    assert ticket["type"] == "incident" and ticket["problem_id"] == problem_id
    [note] = fake_zendesk.comments[41]
    assert note["public"] is False and "12 tickets from 12 customers in 2 h about 'invoice pdf'." in note["body"]
    with db.session() as s:
        link = s.get(TicketLink, (t.id, 1, "41"))
        assert link.state == "done" and link.linked_by == "auto" and link.attempts == 1
    assert _worker(app, db).run_once() == 0  # nothing left


def test_auto_link_off_queues_nothing(app, client, db, tenant, fake_zendesk, connect_tenant):
    t, _ = tenant
    _setup(client, db, tenant, fake_zendesk, connect_tenant, auto_link=False)
    _attach(db, t.id, 1, "41")
    with db.session() as s:
        assert s.get(TicketLink, (t.id, 1, "41")) is None


def test_an_incident_without_problem_ticket_queues_nothing(app, db, tenant):
    t, _ = tenant
    add_incident(db, t.id, 1)
    with db.session() as s:
        update_zendesk_settings(s, t.id, auto_link=True)
    _attach(db, t.id, 1, "41")
    with db.session() as s:
        assert s.scalars(select(TicketLink)).all() == []


def test_failures_back_off_then_give_up(app, client, db, tenant, fake_zendesk, connect_tenant):
    t, _ = tenant
    _setup(client, db, tenant, fake_zendesk, connect_tenant)
    _attach(db, t.id, 1, "999")  # Zendesk has no ticket 999: every attempt fails
    clock = Clock()
    worker = _worker(app, db, clock)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert worker.run_once() == 0
        with db.session() as s:
            link = s.get(TicketLink, (t.id, 1, "999"))
            assert link.attempts == attempt and "HTTP 404" in link.last_error
        assert worker.run_once() == 0  # not due yet
        with db.session() as s:
            assert s.get(TicketLink, (t.id, 1, "999")).attempts == attempt
        clock.now += timedelta(hours=2)
    with db.session() as s:
        assert s.get(TicketLink, (t.id, 1, "999")).state == "failed"


def test_solving_the_problem_in_zendesk_resolves_the_incident(app, client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    with db.session() as s:
        install(s, t, subdomain="acme", public_url="http://localhost", secret_key=TEST_SECRET_KEY,
                now=datetime.now(timezone.utc), email=fake_zendesk.email, token=fake_zendesk.token)
    problem_id = _setup(client, db, tenant, fake_zendesk, connect_tenant)
    fake_zendesk.take_deliveries()  # the creates and links so far
    assert _worker(app, db).run_once() == 0
    fake_zendesk.solve(problem_id)
    [delivery] = [d for d in fake_zendesk.take_deliveries() if f'"ticket_id": "{problem_id}"' in d.body.decode()]
    resp = client.post(urlsplit(delivery.url).path, data=delivery.body, headers=delivery.headers)
    assert resp.status_code == 202, resp.get_json()  # signed with the secret fetched at install
    assert _worker(app, db).run_once() == 1
    with db.session() as s:
        incident = s.get(Incident, (t.id, 1))
        assert incident.status == "resolved" and f"#{problem_id} solved" in incident.status_by
        assert s.get(ProblemTicket, (t.id, 1)).resolved_at is not None
    [event] = [e for e in control_events(db, t.id) if e.kind == "control.status"]
    assert event.payload["status"] == "resolved" and event.payload["incident_id"] == 1
    assert _worker(app, db).run_once() == 0  # once


def test_other_tickets_solved_change_nothing(app, client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    with db.session() as s:
        install(s, t, subdomain="acme", public_url="http://localhost", secret_key=TEST_SECRET_KEY,
                now=datetime.now(timezone.utc), email=fake_zendesk.email, token=fake_zendesk.token)
    _setup(client, db, tenant, fake_zendesk, connect_tenant)
    fake_zendesk.solve(41)
    for d in fake_zendesk.take_deliveries():
        assert client.post(urlsplit(d.url).path, data=d.body, headers=d.headers).status_code == 202
    assert _worker(app, db).run_once() == 0
    with db.session() as s:
        assert s.get(Incident, (t.id, 1)).status == "open"


def test_organizations_that_came_without_a_name_are_named_from_zendesk(app, db, tenant, make_tenant, fake_zendesk,
                                                                      connect_tenant):
    from server.accounts.models import Organization
    from server.topics.models import Ticket

    t, _ = tenant
    unconnected, _ = make_tenant("Not connected")
    connect_tenant(t.id)
    fake_zendesk.organizations = {900002: "Kestrel <b>Logistics</b>", 900003: "Known Already"}
    now = datetime.now(timezone.utc)
    with db.session() as s:
        for i, org in enumerate(["900002", "900002", "900003", "900404", "not-a-number"]):
            s.add(Ticket(tenant_id=t.id, zendesk_id=str(70 + i), subject="x", organization_id=org, created_at=now))
        s.add(Ticket(tenant_id=unconnected.id, zendesk_id="80", subject="x", organization_id="900002", created_at=now))
        s.add(Organization(tenant_id=t.id, zendesk_id="900003", name="Known Already", updated_at=now))
        s.commit()
    clock = Clock()
    worker = _worker(app, db, clock)
    assert worker.name_organizations() == 1
    with db.session() as s:
        names = {(o.tenant_id, o.zendesk_id): o.name for o in s.scalars(select(Organization))}
    assert names == {(t.id, "900002"): "Kestrel <b>Logistics</b>", (t.id, "900003"): "Known Already"}
    asked = [r for r in fake_zendesk.requests if r.path.startswith("/api/v2/organizations/show_many")]
    assert [r.args["ids"] for r in asked] == ["900002,900404"]  # only the unnamed ones, only valid ids
    # an id Zendesk did not answer for is asked again only after a day (looks come every NAME_EVERY)
    clock.now += NAME_EVERY
    assert worker.name_organizations() == 0
    assert len([r for r in fake_zendesk.requests if r.path.startswith("/api/v2/organizations")]) == 1
    clock.now += timedelta(days=1, seconds=1)
    fake_zendesk.organizations[900404] = "Found Later"
    assert worker.name_organizations() == 1
