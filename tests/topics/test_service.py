"""The ticket context's incidents: which ones a ticket is shown, and which one its known-issue banner names."""

from __future__ import annotations

from datetime import timedelta

from server.incidents.state import SENTIMENT_WINDOW, SPIKE_WINDOWS
from server.topics import service
from server.topics.models import Ticket, Topic
from tests.incidents.factories import T0, add_incident, auth

#: Incident 2 of the factories: detected T0 + 2 h, first seen an hour before.
FIRST_SEEN = T0 + timedelta(hours=1)


def add_tickets(db, tenant_id: int, tickets: dict[str, object]) -> None:
    """A topic 1 and one ticket of it per (zendesk id, created_at)."""
    with db.session() as s:
        s.add(Topic(tenant_id=tenant_id, id=1, label="invoice pdf · blank", keywords=[], summary="", size=len(tickets),
                    representatives=[], first_seen_at=T0 - timedelta(days=30), last_seen_at=T0, updated_at=T0))
        for zid, created in tickets.items():
            s.add(Ticket(tenant_id=tenant_id, zendesk_id=zid, subject=f"Ticket {zid}", topic_id=1, created_at=created,
                         status="open"))
        s.commit()


def context(client, creds, zid: str) -> dict:
    response = client.get(f"/api/v1/tickets/{zid}/context", headers=auth(creds))
    assert response.status_code == 200
    return response.get_json()


def test_the_lead_is_the_detectors_longest_window():
    assert service.TOPIC_LEAD.total_seconds() == max(*SPIKE_WINDOWS, SENTIMENT_WINDOW)


def test_an_old_ticket_of_the_topic_is_not_shown_the_incident(client, db, tenant):
    t, creds = tenant
    add_tickets(db, t.id, {"8": FIRST_SEEN - timedelta(days=15),  # written two weeks before the rise
                           "9": FIRST_SEEN - timedelta(hours=5),  # an early report, inside the window
                           "10": FIRST_SEEN + timedelta(minutes=20),  # one of its tickets
                           "11": FIRST_SEEN + timedelta(minutes=30)})  # written during it, not attached
    add_incident(db, t.id, 2, tickets=["10"], evidence={"window_minutes": 120})
    old = context(client, creds, "8")
    assert old["incidents"] == [] and old["banner"] is None and old["topic"]["id"] == 1
    early = context(client, creds, "9")
    assert [(i["id"], i["attached"]) for i in early["incidents"]] == [(2, False)]
    assert early["banner"] is None  # the same topic, not one of its tickets: no known-issue banner
    during = context(client, creds, "11")
    assert [(i["id"], i["attached"]) for i in during["incidents"]] == [(2, False)] and during["banner"] is None
    member = context(client, creds, "10")
    assert [(i["id"], i["attached"]) for i in member["incidents"]] == [(2, True)]
    assert member["banner"]["incident_id"] == 2


def test_an_attached_ticket_keeps_its_incident_however_old(client, db, tenant):
    t, creds = tenant
    add_tickets(db, t.id, {"8": FIRST_SEEN - timedelta(days=15)})
    add_incident(db, t.id, 2, tickets=["8"])  # a person or a merge put it there
    body = context(client, creds, "8")
    assert [(i["id"], i["attached"]) for i in body["incidents"]] == [(2, True)] and body["banner"]["incident_id"] == 2


def test_an_incident_with_a_longer_window_reaches_further_back(client, db, tenant):
    t, creds = tenant
    add_tickets(db, t.id, {"8": FIRST_SEEN - timedelta(hours=9)})
    add_incident(db, t.id, 2, evidence={"window_minutes": 720})
    assert [i["id"] for i in context(client, creds, "8")["incidents"]] == [2]
    with db.session() as s:
        s.get(Ticket, (t.id, "8")).created_at = FIRST_SEEN - timedelta(hours=13)
        s.commit()
    assert context(client, creds, "8")["incidents"] == []


def test_the_banner_leads_and_an_unattached_incident_follows(client, db, tenant):
    t, creds = tenant
    add_tickets(db, t.id, {"42": FIRST_SEEN})
    add_incident(db, t.id, 1, tickets=["42"], series="all", topic_id=None)
    add_incident(db, t.id, 2)  # newer, on the ticket's topic only
    body = context(client, creds, "42")
    assert [(i["id"], i["attached"]) for i in body["incidents"]] == [(1, True), (2, False)]
    assert body["banner"]["incident_id"] == 1


def test_predates_reads_naive_times_as_utc_and_never_guesses_without_one():
    inc = {"first_seen_at": FIRST_SEEN, "evidence": {}}
    assert service.predates((FIRST_SEEN - timedelta(hours=7)).replace(tzinfo=None), inc)
    assert not service.predates((FIRST_SEEN - timedelta(hours=5)).replace(tzinfo=None), inc)
    assert not service.predates(None, inc)
    assert not service.predates(FIRST_SEEN - timedelta(days=1), {"first_seen_at": None, "evidence": {}})
    for odd in ("120", True, -5, float("nan")):  # a malformed window falls back to the lead
        assert service.predates(FIRST_SEEN - timedelta(hours=7), {"first_seen_at": FIRST_SEEN,
                                                                  "evidence": {"window_minutes": odd}})
