"""The ticket-context contract the sidebar codes against, on data written by the detector's writers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.topics.service import TOPIC_LEAD
from server.zendesk.fake import make_ticket
from server.zendesk.sample import XSS, write_sample
from tests.incidents.factories import auth


def test_context_of_an_incident_ticket(client, db, tenant, fake_zendesk, connect_tenant):
    t, creds = tenant
    now = datetime.now(timezone.utc)
    sample = write_sample(db, t.id, now=now, topics=2, tickets_per_topic=30, incidents=1, tickets_per_incident=12)
    ticket_id = sample.incident_tickets[1][0]
    body = client.get(f"/api/v1/tickets/{ticket_id}/context", headers=auth(creds)).get_json()
    assert body["ticket"]["zendesk_id"] == ticket_id and body["topic"]["id"] == 1
    [incident] = body["incidents"]
    assert incident["id"] == 1 and incident["status"] == "open" and incident["attached"] is True
    assert incident["topic"] == {"id": 1, "label": "invoice pdf · blank", "name": None,
                                 "keyword_label": "invoice pdf · blank"}
    assert incident["problem_ticket_id"] is None
    assert incident["account_count"] > 0 and incident["detected_at"] > incident["first_seen_at"]
    assert body["banner"] == {"incident_id": 1, "title": incident["title"], "sentence": incident["sentence"]}
    volume = incident["volume"]
    closed, so_far = volume[:-1], volume[-1]
    assert 46 <= len(closed) <= 48 and set(closed[0]) == {"start", "tickets", "requesters", "expected", "lower",
                                                         "upper", "partial"}
    assert not any(p["partial"] for p in closed) and so_far["partial"] is True  # the open hour, where the rise is
    starts = [datetime.fromisoformat(p["start"]) for p in volume]
    assert starts == sorted(starts) and starts[0] >= now - timedelta(hours=49) and starts[-2] < starts[-1] <= now
    assert datetime.fromisoformat(so_far["as_of"]) == now
    assert sum(p["tickets"] for p in volume) <= 30
    reps = incident["evidence"]["representatives"]
    assert reps[0] == {"ticket_id": sample.xss_ticket_id, "text": XSS}  # served as data; the sidebar renders text

    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(int(ticket_id))]
    problem = client.post("/api/v1/incidents/1/problem-ticket", json={"ticket_id": ticket_id, "by": "Ann"},
                          headers=auth(creds)).get_json()["problem_ticket_id"]
    again = client.get(f"/api/v1/tickets/{ticket_id}/context", headers=auth(creds)).get_json()
    assert again["incidents"][0]["problem_ticket_id"] == problem


def test_context_of_a_plain_and_an_unknown_ticket(client, db, tenant):
    t, creds = tenant
    sample = write_sample(db, t.id, now=datetime.now(timezone.utc), topics=2, incidents=1)
    plain = client.get(f"/api/v1/tickets/{sample.plain_ticket_id}/context", headers=auth(creds)).get_json()
    assert plain["topic"]["id"] == 2 and plain["incidents"] == [] and plain["banner"] is None
    unknown = client.get("/api/v1/tickets/999999/context", headers=auth(creds))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"


def test_a_ticket_on_the_topic_but_not_attached_gets_no_banner_and_an_old_one_no_incident(client, db, tenant):
    t, creds = tenant
    sample = write_sample(db, t.id, now=datetime.now(timezone.utc), topics=1, tickets_per_topic=30, incidents=1,
                          tickets_per_incident=10)
    first_seen = sample.tickets[sample.incident_tickets[1][0]]["created_at"]
    calm = [z for z in sample.ticket_ids if z not in sample.incident_tickets[1]]
    old = [z for z in calm if sample.tickets[z]["created_at"] < first_seen - TOPIC_LEAD]
    near = [z for z in calm if z not in old]
    assert old and near  # the sample's quiet tickets span three days before the rise
    for zid in old[:2]:
        body = client.get(f"/api/v1/tickets/{zid}/context", headers=auth(creds)).get_json()
        assert body["incidents"] == [] and body["banner"] is None and body["topic"]["id"] == 1
    for zid in near[-2:]:
        body = client.get(f"/api/v1/tickets/{zid}/context", headers=auth(creds)).get_json()
        assert [(i["id"], i["attached"]) for i in body["incidents"]] == [(1, False)] and body["banner"] is None


def test_context_is_tenant_scoped(client, db, make_tenant):
    a, creds_a = make_tenant("Alpha")
    b, _ = make_tenant("Beta")
    sample = write_sample(db, b.id, now=datetime.now(timezone.utc), topics=1, incidents=1)
    assert client.get(f"/api/v1/tickets/{sample.ticket_ids[0]}/context", headers=auth(creds_a)).status_code == 404


def test_zendesk_settings_switch_auto_link(client, db, tenant, connect_tenant, fake_zendesk):
    t, creds = tenant
    first = client.get("/api/v1/settings/zendesk", headers=auth(creds)).get_json()
    assert first == {"auto_link": False, "connection": {"connected": False}}
    connect_tenant(t.id)
    changed = client.patch("/api/v1/settings/zendesk", json={"auto_link": True}, headers=auth(creds))
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["auto_link"] is True and body["connection"]["subdomain"] == "acme"
    assert fake_zendesk.token not in changed.get_data(as_text=True)
    assert client.patch("/api/v1/settings/zendesk", json={"auto_link": "maybe"},
                        headers=auth(creds)).status_code == 400
    assert client.get("/api/v1/settings/zendesk").status_code == 401


def test_the_sidebars_signals_are_the_servers():
    """The sidebar names every friction signal the server counts, in its order, with the server's nouns."""
    import json
    import re
    from pathlib import Path

    from server.widget.features import SIGNAL_NOUNS, SIGNALS

    app = Path(__file__).resolve().parents[2] / "zendesk_app"
    model = (app / "src" / "model.ts").read_text()
    listed = re.search(r"export const SIGNALS = \[(.*?)\] as const;", model, re.S).group(1)
    assert tuple(re.findall(r'"(\w+)"', listed)) == SIGNALS
    words = json.loads((app / "translations" / "en.json").read_text())["sidebar"]["signals"]
    assert {s: w["other"].replace("{n} ", "") for s, w in words.items()} == SIGNAL_NOUNS


def test_context_remembers_the_link_and_the_agents_own_verdict(client, db, tenant, fake_zendesk, connect_tenant):
    """After a reload the sidebar shows a linked ticket as linked and the agent's verdict as given: the context
    says whether this ticket is an incident of the problem ticket and what the asking agent (`by`) said."""
    from server.topics.models import Ticket

    t, creds = tenant
    h = auth(creds)
    sample = write_sample(db, t.id, now=datetime.now(timezone.utc), topics=2, tickets_per_topic=30, incidents=1,
                          tickets_per_incident=12)
    mine, other, by_hand = sample.incident_tickets[1][:3]
    ann, bob = "Ann Agent <ann@example.com>", "Bob Agent <bob@example.com>"

    def incident(ticket_id: str, by: str | None = None) -> dict:
        query = {"by": by} if by is not None else {}
        body = client.get(f"/api/v1/tickets/{ticket_id}/context", query_string=query, headers=h).get_json()
        return body["incidents"][0]

    before = incident(mine, ann)
    assert before["ticket_linked"] is False and before["your_verdict"] is None

    connect_tenant(t.id)
    fake_zendesk.tickets = [make_ticket(int(z)) for z in (mine, other, by_hand)]
    problem = client.post("/api/v1/incidents/1/problem-ticket", json={"ticket_id": mine, "by": ann},
                          headers=h).get_json()["problem_ticket_id"]
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "useful", "by": ann},
                       headers=h).status_code == 200
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "noise", "by": bob},
                       headers=h).status_code == 200

    linked = incident(mine, ann)
    assert linked["problem_ticket_id"] == problem and linked["ticket_linked"] is True
    assert linked["your_verdict"] == "useful"
    assert incident(mine, bob)["your_verdict"] == "noise"
    assert incident(mine)["your_verdict"] is None  # nobody named: nobody's verdict
    assert incident(other, ann)["ticket_linked"] is False  # another ticket of the incident is not linked yet

    # Linked in Zendesk by hand: Zendesk's update (problem_id) says so.
    with db.session() as s:
        s.get(Ticket, (t.id, by_hand)).problem_id = str(problem)
        s.commit()
    assert incident(by_hand, ann)["ticket_linked"] is True

    # The agent changes their mind: the latest verdict is the one shown.
    client.post("/api/v1/incidents/1/feedback", json={"verdict": "noise", "by": ann}, headers=h)
    assert incident(mine, ann)["your_verdict"] == "noise"

    bad = client.get(f"/api/v1/tickets/{mine}/context", query_string={"by": "Ann\x00"}, headers=h)
    assert bad.status_code == 400 and "by" in bad.get_json()["error"]["fields"]


def test_incident_list_detail_and_export_name_the_problem_ticket(client, db, tenant, fake_zendesk, connect_tenant):
    """The nav bar and the incidents page read the incident's problem ticket from the list and the detail."""
    import csv
    import io

    t, creds = tenant
    h = auth(creds)
    sample = write_sample(db, t.id, now=datetime.now(timezone.utc), topics=2, incidents=2)
    listed = client.get("/api/v1/incidents", query_string={"status": "open,acknowledged"}, headers=h).get_json()
    assert {i["id"]: i["problem_ticket_id"] for i in listed["incidents"]} == {1: None, 2: None}

    connect_tenant(t.id)
    ticket_id = sample.incident_tickets[2][0]
    fake_zendesk.tickets = [make_ticket(int(ticket_id))]
    problem = client.post("/api/v1/incidents/2/problem-ticket", json={"ticket_id": ticket_id, "by": "Ann"},
                          headers=h).get_json()["problem_ticket_id"]

    listed = client.get("/api/v1/incidents", query_string={"status": "open,acknowledged"}, headers=h).get_json()
    assert {i["id"]: i["problem_ticket_id"] for i in listed["incidents"]} == {1: None, 2: problem}
    assert client.get("/api/v1/incidents/2", headers=h).get_json()["problem_ticket_id"] == problem
    assert client.get("/api/v1/incidents/1", headers=h).get_json()["problem_ticket_id"] is None
    exported = client.get("/api/v1/incidents/export", headers=h).data.decode("utf-8-sig")
    rows = {r["id"]: r["problem_ticket_id"] for r in csv.DictReader(io.StringIO(exported))}
    assert rows == {"1": "", "2": str(problem)}
