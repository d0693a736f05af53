from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.incidents.models import Incident
from server.topics.models import Ticket, Topic
from tests.incidents.factories import T0, add_incident, add_volume, auth, control_events


def add_topic(db, tenant_id: int, topic_id: int, label: str, name: str | None = None) -> None:
    with db.session() as s:
        s.add(Topic(tenant_id=tenant_id, id=topic_id, label=label, name=name, keywords=[], summary="", size=1,
                    representatives=[], first_seen_at=T0, last_seen_at=T0, updated_at=T0))
        s.commit()


def ids(body) -> list[int]:
    return [i["id"] for i in body["incidents"]]


def test_an_incident_names_its_topic_as_agents_call_it_now(client, db, tenant):
    t, creds = tenant
    add_topic(db, t.id, 1, "invoice pdf · blank")
    said = "17 tickets from 15 customers in 2 h about 'invoice pdf · blank'; expected 1.2 customers"
    add_incident(db, t.id, 1, title="Spike: 'invoice pdf · blank'", sentence=said,
                 evidence={"observed": 15, "expected": 1.2, "topic_label": "invoice pdf · blank"})
    add_incident(db, t.id, 2, kind="sentiment", title="Sentiment falling: 'invoice pdf · blank'",
                 sentence="9 tickets in 2 h on invoice pdf · blank with mean sentiment -0.41; usually +0.10",
                 evidence={"observed": -0.41, "topic_label": "invoice pdf · blank"})
    add_incident(db, t.id, 3, title="Spike: 'invoice pdf · blank' (edited)", sentence=said,
                 evidence={"topic_label": "invoice pdf · blank"})
    detail = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    assert (detail["title"], detail["sentence"]) == ("Spike: 'invoice pdf · blank'", said)
    assert client.patch("/api/v1/topics/1", json={"name": "Blank <b>invoices</b>"},
                        headers=auth(creds)).status_code == 200
    listed = {i["id"]: i for i in client.get("/api/v1/incidents", headers=auth(creds)).get_json()["incidents"]}
    assert listed[1]["title"] == "Spike: 'Blank <b>invoices</b>'"  # JSON text: the page renders it as text
    assert listed[1]["sentence"].startswith("17 tickets from 15 customers in 2 h about 'Blank <b>invoices</b>';")
    assert listed[2]["title"] == "Sentiment falling: 'Blank <b>invoices</b>'"
    assert " on Blank <b>invoices</b> with mean sentiment" in listed[2]["sentence"]
    assert listed[3]["title"] == "Spike: 'invoice pdf · blank' (edited)"  # not the detector's words: left alone
    detail = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    assert detail["title"] == "Spike: 'Blank <b>invoices</b>'" and detail["topic"]["label"] == "Blank <b>invoices</b>"
    assert detail["history"][1]["text"] == "Opened: Spike: 'Blank <b>invoices</b>'"  # one name everywhere


def test_list_is_newest_detected_first_with_topic_labels(client, db, tenant):
    t, creds = tenant
    add_topic(db, t.id, 1, "invoice pdf · blank", name="Blank invoices")
    add_topic(db, t.id, 2, "password reset")
    add_incident(db, t.id, 1, tickets=["10", "9", "11"])
    add_incident(db, t.id, 2, topic_id=2, series="topic:2")
    add_incident(db, t.id, 3, kind="drop", series="channel:web", topic_id=None, direction="down")
    body = client.get("/api/v1/incidents", headers=auth(creds)).get_json()
    assert ids(body) == [3, 2, 1] and body["total"] == 3
    by_id = {i["id"]: i for i in body["incidents"]}
    assert by_id[1]["topic"] == {"id": 1, "label": "Blank invoices", "name": "Blank invoices",
                                 "keyword_label": "invoice pdf · blank"}
    assert by_id[2]["topic"] == {"id": 2, "label": "password reset", "name": None, "keyword_label": "password reset"}
    assert by_id[3]["topic"] is None and by_id[3]["series"] == "channel:web"
    one = by_id[1]
    assert one["ticket_ids"] == ["10", "9", "11"] and one["ticket_ids_truncated"] is False
    assert one["evidence"] == {"observed": 17, "expected": 3.2, "band": [1, 7]}
    assert one["first_seen_at"] == "2026-03-02T09:00:00+00:00" and one["detected_at"] == "2026-03-02T10:00:00+00:00"
    for key in ("kind", "status", "title", "sentence", "direction", "resolved_at", "ticket_count", "requester_count",
                "account_count", "p_value", "surprise", "useful_count", "noise_count"):
        assert key in one


def test_list_filters_and_pages(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1, status="resolved", resolved_at=T0 + timedelta(hours=5))
    add_incident(db, t.id, 2, status="acknowledged")
    add_incident(db, t.id, 3, kind="new_topic", topic_id=7, series="topic:7")
    add_incident(db, t.id, 4, status="dismissed")
    h = auth(creds)

    def get(query: str) -> list[int]:
        resp = client.get("/api/v1/incidents" + query, headers=h)
        assert resp.status_code == 200, resp.get_json()
        return ids(resp.get_json())

    assert get("?status=open,acknowledged") == [3, 2]
    assert get("?status=resolved") == [1]
    assert get("?kind=new_topic") == [3]
    assert get("?topic_id=1") == [4, 2, 1]
    assert get("?since=2026-03-02T12:00:00%2B00:00") == [4, 3]
    assert get("?since=2026-03-02T13:00:00Z&status=dismissed") == [4]
    page = client.get("/api/v1/incidents?limit=2&offset=1", headers=h).get_json()
    assert ids(page) == [3, 2] and page["total"] == 4


@pytest.mark.parametrize("query, field", [
    ("status=open,closed", "status"), ("status=", "status"), ("kind=meteor", "kind"), ("topic_id=0", "topic_id"),
    ("since=yesterday", "since"), ("since=2026-03-02T12:00:00", "since"), ("limit=0", "limit"),
    ("limit=201", "limit"), ("offset=-1", "offset"),
    ("since=9999-12-31T23:59:59-23:00", "since"),  # past UTC's range: was a 500
    ("since=0001-01-01T00:00:00%2B05:00", "since"), ("since=1999-12-31T23:59:59Z", "since"),
])
def test_list_rejects_bad_filters_naming_the_field(client, db, tenant, query, field):
    _, creds = tenant
    resp = client.get("/api/v1/incidents?" + query, headers=auth(creds))
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    if field == "since":  # the export takes the same filters
        resp = client.get("/api/v1/incidents/export?" + query, headers=auth(creds))
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]


def test_list_caps_ticket_ids_the_detail_has_them_all(client, db, tenant):
    t, creds = tenant
    tickets = [str(1000 + i) for i in range(60)]
    add_incident(db, t.id, 1, tickets=tickets)
    item = client.get("/api/v1/incidents", headers=auth(creds)).get_json()["incidents"][0]
    assert item["ticket_ids"] == tickets[:50] and item["ticket_ids_truncated"] is True
    detail = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    assert detail["ticket_ids"] == tickets and "ticket_ids_truncated" not in detail
    assert detail["zendesk_url"] == "https://acme.zendesk.com"  # where each ticket opens: /agent/tickets/<id>


def test_the_detail_names_the_tenants_zendesk_when_it_is_known(client, db, tenant):
    from server.tenants import Tenant
    from server.zendesk.models import ZendeskConnection

    t, creds = tenant
    add_incident(db, t.id, 1, tickets=["7"])
    with db.session() as s:
        s.get(Tenant, t.id).zendesk_subdomain = None
        s.commit()
    assert client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["zendesk_url"] is None
    with db.session() as s:  # a connection's subdomain is the one in use
        s.add(ZendeskConnection(tenant_id=t.id, subdomain="kestrel", auth="api_token", credential_enc="x",
                                updated_at=T0))
        s.commit()
    assert client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["zendesk_url"] == \
        "https://kestrel.zendesk.com"


def test_ticket_ids_attached_at_the_same_time_are_in_numeric_order(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    from server.incidents.models import IncidentTicket
    with db.session() as s:
        for zid in ("100", "20", "3"):
            s.add(IncidentTicket(tenant_id=t.id, incident_id=1, zendesk_id=zid, attached_at=T0))
        s.commit()
    assert client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["ticket_ids"] == ["3", "20", "100"]


def test_detail_has_the_volume_window_and_feedback(client, db, tenant):
    t, creds = tenant
    detected = T0 + timedelta(hours=60)
    add_incident(db, t.id, 1, detected_at=detected, first_seen_at=detected - timedelta(hours=2),
                 status="resolved", resolved_at=detected + timedelta(hours=4))
    add_volume(db, t.id, "topic:1", T0, 120)  # T0 .. T0+119h
    add_volume(db, t.id, "topic:2", T0, 120)  # another series: not shown
    body = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    starts = [datetime.fromisoformat(p["start"]) for p in body["volume"]]
    first_seen, resolved = detected - timedelta(hours=2), detected + timedelta(hours=4)
    assert starts[0] == first_seen - timedelta(hours=48) and starts[-1] == resolved + timedelta(hours=24)
    assert len(starts) == 48 + 2 + 4 + 24 + 1
    assert body["volume"][0] == {"start": starts[0].isoformat(), "tickets": 10 % 5, "requesters": 10 % 4,
                                 "expected": 2.0, "lower": 0.0, "upper": 5.5, "partial": False}
    assert body["feedback"] == []


def test_detail_names_the_organizations_its_tickets_came_from(client, db, tenant, make_tenant, monkeypatch):
    from server.accounts.models import Organization
    from server.incidents import service
    from server.topics.models import Ticket

    t, creds = tenant
    other, _ = make_tenant("Other")
    monkeypatch.setattr(service, "MAX_ACCOUNTS", 2)
    people = [("1", "p1", "900"), ("2", "p2", "900"), ("3", "p2", "900"), ("4", "p3", "901"), ("5", "p4", "902"),
              ("6", "p5", "902"), ("7", "p6", None)]
    add_incident(db, t.id, 1, tickets=[z for z, _, _ in people])
    with db.session() as s:
        for i, (zid, who, org) in enumerate(people):
            s.add(Ticket(tenant_id=t.id, zendesk_id=zid, requester_id=who, organization_id=org,
                         created_at=T0 + timedelta(minutes=i)))
        s.add(Organization(tenant_id=t.id, zendesk_id="900", name="<b>Kestrel</b> Logistics", updated_at=T0))
        s.add(Organization(tenant_id=other.id, zendesk_id="902", name="Not this tenant's", updated_at=T0))
        s.commit()
    body = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()
    # Most tickets first (900: three tickets from two people), then the tie broken by people; 901 is cut.
    assert body["accounts_total"] == 3
    assert body["accounts"] == [
        {"organization_id": "900", "name": "<b>Kestrel</b> Logistics", "tickets": 3, "requesters": 2,
         "first_ticket_at": T0.isoformat()},
        {"organization_id": "902", "name": None, "tickets": 2, "requesters": 2,
         "first_ticket_at": (T0 + timedelta(minutes=4)).isoformat()},
    ]
    add_incident(db, t.id, 2)
    assert client.get("/api/v1/incidents/2", headers=auth(creds)).get_json()["accounts"] == []


def _hour_so_far(start: datetime, **overrides) -> dict:
    hour = {"start": start.isoformat(), "as_of": (start + timedelta(minutes=25)).isoformat(), "tickets": 14,
            "requesters": 13, "expected": 3.2, "lower": 0.0, "upper": 8.0}
    hour.update(overrides)
    return hour


def test_the_open_hour_comes_last_marked_partial_until_it_closes(client, db, tenant):
    t, creds = tenant
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    add_volume(db, t.id, "topic:1", now - timedelta(hours=10), 10)  # closed hours up to now - 1 h
    evidence = {"observed": 13, "expected": 3.2, "hour_so_far": _hour_so_far(now)}
    add_incident(db, t.id, 1, detected_at=now + timedelta(minutes=20), evidence=evidence)
    add_incident(db, t.id, 2, detected_at=now + timedelta(minutes=20), evidence=evidence, status="resolved",
                 resolved_at=now + timedelta(minutes=40))
    stale = {"hour_so_far": _hour_so_far(now - timedelta(hours=1))}  # an hour that has closed since
    add_incident(db, t.id, 3, detected_at=now + timedelta(minutes=20), evidence=stale)
    broken = {"hour_so_far": _hour_so_far(now, tickets="many")}
    add_incident(db, t.id, 4, detected_at=now + timedelta(minutes=20), evidence=broken)
    volume = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["volume"]
    assert [p["partial"] for p in volume] == [False] * 10 + [True]
    assert volume[-1] == {"start": now.isoformat(), "as_of": (now + timedelta(minutes=25)).isoformat(),
                          "tickets": 14, "requesters": 13, "expected": 3.2, "lower": 0.0, "upper": 8.0,
                          "partial": True}
    # resolved within that hour: its rise stays on its chart until the closed hour is written
    assert client.get("/api/v1/incidents/2", headers=auth(creds)).get_json()["volume"] == volume
    for other in (3, 4):  # already closed, unreadable: the closed hours alone
        points = client.get(f"/api/v1/incidents/{other}", headers=auth(creds)).get_json()["volume"]
        assert len(points) == 10 and not any(p["partial"] for p in points)
    add_volume(db, t.id, "topic:1", now, 1)  # the hour closes
    points = client.get("/api/v1/incidents/2", headers=auth(creds)).get_json()["volume"]
    assert len(points) == 11 and not any(p["partial"] for p in points)


def test_open_incident_volume_runs_until_now(client, db, tenant):
    t, creds = tenant
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    add_incident(db, t.id, 1, detected_at=now - timedelta(hours=3))
    add_volume(db, t.id, "topic:1", now - timedelta(hours=100), 100)
    volume = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["volume"]
    assert len(volume) == 48 + 4 + 1 - 1 and volume[-1]["start"] == (now - timedelta(hours=1)).isoformat()


def test_incidents_are_tenant_scoped(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, b_creds = make_tenant("Beta")
    add_incident(db, a.id, 1, tickets=["5"])
    h = auth(b_creds)
    assert client.get("/api/v1/incidents", headers=h).get_json() == {"incidents": [], "total": 0}
    assert client.get("/api/v1/incidents/1", headers=h).status_code == 404
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "noise", "by": "eve"},
                       headers=h).status_code == 404
    assert client.patch("/api/v1/incidents/1/status", json={"status": "dismissed", "by": "eve"},
                        headers=h).status_code == 404
    assert control_events(db, a.id) == control_events(db, b.id) == []
    detail = client.get("/api/v1/incidents/1", headers=auth(a_creds)).get_json()
    assert detail["status"] == "open" and detail["noise_count"] == 0
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get(f"/api/v1/incidents/{2**40}", headers=auth(a_creds)).status_code == 404


def test_feedback_counts_and_appends_a_control_event(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    h = auth(creds)
    first = client.post("/api/v1/incidents/1/feedback", json={"verdict": "useful", "by": "ana@example.com",
                                                               "note": "Real outage."}, headers=h)
    assert first.status_code == 200
    client.post("/api/v1/incidents/1/feedback", json={"verdict": "useful", "by": "bo"}, headers=h)
    body = client.post("/api/v1/incidents/1/feedback", json={"verdict": "noise", "by": "cy", "note": None},
                       headers=h).get_json()
    assert (body["useful_count"], body["noise_count"]) == (2, 1)
    assert [(f["verdict"], f["by"], f["note"]) for f in body["feedback"]] == [
        ("useful", "ana@example.com", "Real outage."), ("useful", "bo", None), ("noise", "cy", None)]
    events = control_events(db, t.id)
    assert [e.kind for e in events] == ["control.feedback"] * 3
    assert events[0].payload == {"incident_id": 1, "verdict": "useful", "by": "ana@example.com"}
    assert events[2].payload == {"incident_id": 1, "verdict": "noise", "by": "cy"}
    assert len({e.idempotency_key for e in events}) == 3 and all(len(e.idempotency_key) == 32 for e in events)
    listed = client.get("/api/v1/incidents", headers=h).get_json()["incidents"][0]
    assert (listed["useful_count"], listed["noise_count"]) == (2, 1)


def test_each_persons_verdict_counts_once_and_a_changed_one_replaces_theirs(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    h = auth(creds)

    def mark(verdict: str, by: str, note: str | None = None) -> dict:
        r = client.post("/api/v1/incidents/1/feedback", json={"verdict": verdict, "by": by, "note": note}, headers=h)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    mark("noise", "ana")
    body = mark("noise", "ana", "deploy noise")  # again: only the note changes
    assert (body["useful_count"], body["noise_count"]) == (0, 1)
    assert [(f["verdict"], f["by"], f["note"]) for f in body["feedback"]] == [("noise", "ana", "deploy noise")]
    mark("noise", "bo")
    body = mark("useful", "ana", "it was real after all")  # ana changes her mind
    assert (body["useful_count"], body["noise_count"]) == (1, 1)
    assert sorted((f["verdict"], f["by"]) for f in body["feedback"]) == [("noise", "bo"), ("useful", "ana")]
    events = [e.payload for e in control_events(db, t.id)]
    assert events == [{"incident_id": 1, "verdict": "noise", "by": "ana"}, {"incident_id": 1, "verdict": "noise", "by": "bo"},
                      {"incident_id": 1, "verdict": "useful", "by": "ana", "was": "noise"}]


@pytest.mark.parametrize("body, field", [
    ({"by": "ana"}, "verdict"), ({"verdict": "great", "by": "ana"}, "verdict"), ({"verdict": "useful"}, "by"),
    ({"verdict": "useful", "by": ""}, "by"), ({"verdict": "useful", "by": "x" * 201}, "by"),
    ({"verdict": "useful", "by": "ana", "note": "n" * 2001}, "note"),
    ({"verdict": "useful", "by": "ana", "incident_id": 2}, "incident_id"),
])
def test_feedback_rejects_bad_bodies_naming_the_field(client, db, tenant, body, field):
    t, creds = tenant
    add_incident(db, t.id, 1)
    resp = client.post("/api/v1/incidents/1/feedback", json=body, headers=auth(creds))
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]
    assert control_events(db, t.id) == []


ALLOWED = {("open", "acknowledged"), ("open", "resolved"), ("open", "dismissed"), ("acknowledged", "resolved"),
           ("acknowledged", "dismissed"), ("acknowledged", "open"), ("resolved", "open"), ("dismissed", "open")}
STATUSES = ("open", "acknowledged", "resolved", "dismissed")


@pytest.mark.parametrize("before", STATUSES)
@pytest.mark.parametrize("after", STATUSES)
def test_status_transitions(client, db, tenant, before, after):
    t, creds = tenant
    resolved_at = T0 + timedelta(hours=3) if before == "resolved" else None
    add_incident(db, t.id, 1, status=before, resolved_at=resolved_at)
    resp = client.patch("/api/v1/incidents/1/status", json={"status": after, "by": "ana"}, headers=auth(creds))
    events = control_events(db, t.id)
    if before == after:
        assert resp.status_code == 200 and resp.get_json()["status"] == before
        assert resp.get_json()["status_by"] == "detector" and events == []
    elif (before, after) in ALLOWED:
        body = resp.get_json()
        assert resp.status_code == 200 and body["status"] == after and body["status_by"] == "ana"
        changed = datetime.fromisoformat(body["status_changed_at"])
        assert abs(changed - datetime.now(timezone.utc)) < timedelta(minutes=1)
        if after == "resolved":
            assert body["resolved_at"] == body["status_changed_at"]
        elif before == "resolved":
            assert body["resolved_at"] is None
        assert [(e.kind, e.payload) for e in events] == [
            ("control.status", {"incident_id": 1, "status": after, "by": "ana"})]
    else:
        assert resp.status_code == 409
        error = resp.get_json()["error"]
        assert error["fields"]["from"] == before and error["fields"]["to"] == after
        assert before in error["message"] and after in error["message"] and events == []


def test_status_change_is_stored(client, db, tenant):
    t, creds = tenant
    add_incident(db, t.id, 1)
    client.patch("/api/v1/incidents/1/status", json={"status": "resolved", "by": "ana"}, headers=auth(creds))
    with db.session() as s:
        row = s.get(Incident, (t.id, 1))
        assert row.status == "resolved" and row.status_by == "ana" and row.resolved_at is not None


@pytest.mark.parametrize("body, field", [
    ({"by": "ana"}, "status"), ({"status": "closed", "by": "ana"}, "status"), ({"status": "open"}, "by"),
    ({"status": "open", "by": ""}, "by"),
])
def test_status_rejects_bad_bodies_naming_the_field(client, db, tenant, body, field):
    t, creds = tenant
    add_incident(db, t.id, 1)
    resp = client.patch("/api/v1/incidents/1/status", json=body, headers=auth(creds))
    assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"]


def test_ticket_context_lists_active_incidents(client, db, make_tenant):
    t, creds = make_tenant("Alpha")
    other, _ = make_tenant("Beta")
    add_topic(db, t.id, 1, "invoice pdf")
    with db.session() as s:
        s.add(Ticket(tenant_id=t.id, zendesk_id="42", subject="Blank PDF", topic_id=1, created_at=T0))
        s.add(Ticket(tenant_id=t.id, zendesk_id="43", subject="Other", topic_id=None, created_at=T0))
        s.commit()
    add_incident(db, t.id, 1, tickets=["42"], topic_id=None, series="all")  # attached
    add_incident(db, t.id, 2, status="acknowledged", llm_summary="Invoice PDFs come out blank.")  # the ticket's topic
    add_incident(db, t.id, 3, status="resolved", tickets=["42"])  # not active
    add_incident(db, t.id, 4, topic_id=9, series="topic:9")  # unrelated
    add_incident(db, other.id, 5, tickets=["42"])  # another tenant's
    body = client.get("/api/v1/tickets/42/context", headers=auth(creds)).get_json()
    assert body["ticket"]["zendesk_id"] == "42" and body["topic"]["id"] == 1
    # the banner's incident (the one the ticket is attached to) leads, so its card is the one under the banner
    assert [(i["id"], i["status"]) for i in body["incidents"]] == [(1, "open"), (2, "acknowledged")]
    assert set(body["incidents"][0]) == {"id", "kind", "status", "title", "sentence", "llm_summary", "first_seen_at", "detected_at",
                                         "ticket_count", "requester_count", "account_count", "topic", "attached",
                                         "problem_ticket_id", "ticket_linked", "your_verdict", "volume", "evidence"}
    assert [i["attached"] for i in body["incidents"]] == [True, False]
    assert [i["llm_summary"] for i in body["incidents"]] == [None, "Invoice PDFs come out blank."]
    assert body["banner"] == {"incident_id": 1, "title": "Spike #1", "sentence": body["incidents"][0]["sentence"]}
    assert client.get("/api/v1/tickets/43/context", headers=auth(creds)).get_json()["incidents"] == []


def test_the_banner_names_the_problem_before_a_change_of_tone(client, db, make_tenant):
    t, creds = make_tenant("Acme")
    add_topic(db, t.id, 1, "sso login")
    with db.session() as s:
        s.add(Ticket(tenant_id=t.id, zendesk_id="42", subject="SSO fails", topic_id=1, created_at=T0))
        s.commit()
    add_incident(db, t.id, 1, tickets=["42"], kind="concentration", requester_count=9)
    add_incident(db, t.id, 2, tickets=["42"], kind="sentiment", series="organization:7", topic_id=None,
                 requester_count=30)  # newer, more customers, but a change of tone
    context = lambda: client.get("/api/v1/tickets/42/context", headers=auth(creds)).get_json()  # noqa: E731
    body = context()
    assert [i["id"] for i in body["incidents"]] == [1, 2] and body["banner"]["incident_id"] == 1
    add_incident(db, t.id, 3, tickets=["42"], series="topic:1", requester_count=20)  # a spike with more customers
    assert context()["banner"]["incident_id"] == 3
    assert [i["id"] for i in context()["incidents"]] == [3, 2, 1]  # the banner's first, then newest first
    add_incident(db, t.id, 4, kind="sentiment", requester_count=50)  # on its topic, not attached: no banner
    assert context()["banner"]["incident_id"] == 3


def test_detail_relates_a_pages_friction_incident_and_the_ticket_incidents_it_caused(client, db, make_tenant):
    t, creds = make_tenant("Acme")
    detected = T0 + timedelta(hours=30)
    add_incident(db, t.id, 1, kind="friction", series="page:/invoices:failed_request", topic_id=None,
                 title="Failed requests on /invoices", detected_at=detected,
                 evidence={"path": "/invoices", "signal": "failed_request"})
    add_incident(db, t.id, 2, title="Spike: 'invoice pdf'", detected_at=detected + timedelta(minutes=3),
                 evidence={"topic_label": "invoice pdf", "pages": [{"path": "/invoices", "sessions": 9, "users": 8},
                                                                   {"path": "/billing", "sessions": 1, "users": 1}]})
    add_incident(db, t.id, 3, title="Spike: 'sso'", detected_at=detected + timedelta(minutes=5),
                 evidence={"pages": [{"path": "/login", "sessions": 4, "users": 4}]})  # another page
    add_incident(db, t.id, 4, title="Spike: long ago", detected_at=detected - timedelta(days=5),
                 last_activity_at=detected - timedelta(days=5), status="resolved",
                 resolved_at=detected - timedelta(days=5), evidence={"pages": [{"path": "/invoices"}]})
    add_incident(db, t.id, 5, title="Spike: no pages", detected_at=detected)
    other, other_creds = make_tenant("Other")
    add_incident(db, other.id, 6, title="Elsewhere", detected_at=detected, evidence={"pages": [{"path": "/invoices"}]})

    def related(incident_id, c=creds):
        return client.get(f"/api/v1/incidents/{incident_id}", headers=auth(c)).get_json()["related"]

    assert related(1) == [{"id": 2, "kind": "spike", "status": "open", "title": "Spike: 'invoice pdf'",
                           "pages": ["/invoices"], "shared_tickets": 0}]
    assert [r["id"] for r in related(2)] == [1]
    assert related(3) == [] and related(5) == []
    assert related(6, other_creds) == []
    add_topic(db, t.id, 1, "invoice pdf", name="Blank invoices")  # agents named its topic since
    assert related(1)[0]["title"] == "Spike: 'Blank invoices'"


def test_detail_relates_incidents_that_hold_the_same_tickets_at_about_the_same_time(client, db, tenant):
    """An organization's change of tone and the concentrated rise of its tickets are one problem seen twice."""
    t, creds = tenant
    detected = T0 + timedelta(hours=30)
    add_incident(db, t.id, 1, kind="concentration", title="Concentrated rise: 'sso login'", detected_at=detected,
                 tickets=["10", "11", "12", "13"])
    add_incident(db, t.id, 2, kind="sentiment", series="org:900002", topic_id=None, title="Sentiment falling: Kestrel",
                 detected_at=detected + timedelta(minutes=20), tickets=["11", "12", "13", "14"])
    add_incident(db, t.id, 3, series="topic:3", topic_id=3, title="Spike: one in common",
                 detected_at=detected, tickets=["10", "20"])  # a single ticket in common: not the same problem
    add_incident(db, t.id, 4, series="topic:4", topic_id=4, title="Spike: long ago", tickets=["10", "11"],
                 detected_at=detected - timedelta(days=5), last_activity_at=detected - timedelta(days=5),
                 status="resolved", resolved_at=detected - timedelta(days=5))

    add_incident(db, t.id, 5, series="topic:5", topic_id=5, title="Spike: merged into #1", tickets=["10", "12"],
                 detected_at=detected, status="resolved", resolved_at=detected,
                 evidence={"merged_into_incident": 1})  # shares them by the merge: said as merged, not related

    def related(incident_id):
        return client.get(f"/api/v1/incidents/{incident_id}", headers=auth(creds)).get_json()["related"]

    assert related(1) == [{"id": 2, "kind": "sentiment", "status": "open", "title": "Sentiment falling: Kestrel",
                           "pages": [], "shared_tickets": 3}]
    assert [(r["id"], r["shared_tickets"]) for r in related(2)] == [(1, 3)]
    assert related(3) == []


def test_merging_resolves_one_incident_into_another_and_tells_the_detector(client, db, tenant):
    t, creds = tenant
    h = auth(creds)
    add_incident(db, t.id, 1, tickets=["1", "2"])
    add_incident(db, t.id, 2, series="topic:2", topic_id=2, tickets=["3"])
    body = client.post("/api/v1/incidents/2/merge", json={"into": 1, "by": "Ana"}, headers=h)
    assert body.status_code == 200, body.get_json()
    kept = body.get_json()
    assert kept["id"] == 1 and kept["status"] == "open" and kept["evidence"]["merged_incidents"] == [2]
    gone = client.get("/api/v1/incidents/2", headers=h).get_json()
    assert (gone["status"], gone["status_by"]) == ("resolved", "Ana")
    assert gone["evidence"]["merged_into_incident"] == 1 and gone["resolved_at"] is not None
    (event,) = control_events(db, t.id)
    assert event.kind == "control.merge" and event.payload == {"incident_id": 2, "into": 1, "by": "Ana"}
    # A merged (resolved) incident merges no more, and is not reopened (the other one carries the problem).
    again = client.post("/api/v1/incidents/2/merge", json={"into": 1, "by": "Ana"}, headers=h)
    assert again.status_code == 409 and "resolved" in again.get_json()["error"]["message"]
    reopen = client.patch("/api/v1/incidents/2/status", json={"status": "open", "by": "Ana"}, headers=h)
    assert reopen.status_code == 409 and "merged into incident 1" in reopen.get_json()["error"]["message"]
    assert [e.kind for e in control_events(db, t.id)] == ["control.merge"]


def test_undoing_a_merge_brings_the_incident_back_in_its_earlier_status_and_tells_the_detector(client, db, tenant):
    t, creds = tenant
    h = auth(creds)
    add_incident(db, t.id, 1, tickets=["1", "2"])
    add_incident(db, t.id, 2, series="topic:2", topic_id=2, tickets=["3"], status="acknowledged")
    add_incident(db, t.id, 3, series="topic:3", topic_id=3)
    assert client.post("/api/v1/incidents/2/merge", json={"into": 1, "by": "Ana"}, headers=h).status_code == 200
    assert client.post("/api/v1/incidents/3/merge", json={"into": 1, "by": "Ana"}, headers=h).status_code == 200
    period = {"since": (T0 - timedelta(days=1)).isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}

    def merged_in_report() -> int:
        return client.get("/api/v1/incidents/report", query_string=period, headers=h).get_json()["merged"]

    assert merged_in_report() == 2
    res = client.post("/api/v1/incidents/2/unmerge", json={"by": "Lee"}, headers=h)
    assert res.status_code == 200, res.get_json()
    back = res.get_json()
    assert (back["id"], back["status"], back["status_by"], back["resolved_at"]) == (2, "acknowledged", "Lee", None)
    assert "merged_into_incident" not in back["evidence"] and "status_before_merge" not in back["evidence"]
    kept = client.get("/api/v1/incidents/1", headers=h).get_json()
    assert kept["evidence"]["merged_incidents"] == [3]  # the other merge stands
    assert [h["text"] for h in kept["history"] if h["event"] == "unmerged"] == [
        "Merge of incident #2 undone by Lee: its tickets went back"]
    assert control_events(db, t.id)[-1].payload == {"incident_id": 2, "into": 1, "status": "acknowledged", "by": "Lee"}
    # Once back, it reopens, resolves and merges as any incident; undoing again is refused.
    again = client.post("/api/v1/incidents/2/unmerge", json={"by": "Lee"}, headers=h)
    assert again.status_code == 409 and "was not merged" in again.get_json()["error"]["message"]
    assert client.post("/api/v1/incidents/3/unmerge", json={"by": "Lee"}, headers=h).status_code == 200
    assert "merged_incidents" not in client.get("/api/v1/incidents/1", headers=h).get_json()["evidence"]
    assert merged_in_report() == 0  # the report no longer counts them as merged


@pytest.mark.parametrize("setup, body, status, field", [
    ("none", {"by": "Lee"}, 409, "incident"),          # never merged
    ("merged", {}, 400, "by"),
    ("merged", {"by": ""}, 400, "by"),
    ("ended", {"by": "Lee"}, 409, "into"),             # the one it went into was resolved since
    ("detector", {"by": "Lee"}, 409, "incident"),      # joined by the detector when their topics became one
])
def test_an_undo_that_cannot_be_is_refused_and_changes_nothing(client, db, tenant, setup, body, status, field):
    t, creds = tenant
    add_incident(db, t.id, 1)
    add_incident(db, t.id, 2, series="topic:2", topic_id=2)
    if setup != "none":
        assert client.post("/api/v1/incidents/2/merge", json={"into": 1, "by": "Ana"}, headers=auth(creds)).status_code == 200
    with db.session() as s:
        if setup == "ended":
            s.get(Incident, (t.id, 1)).status = "resolved"
        if setup == "detector":
            s.get(Incident, (t.id, 2)).status_by = "detector"
        s.commit()
    before = [e.kind for e in control_events(db, t.id)]
    res = client.post("/api/v1/incidents/2/unmerge", json=body, headers=auth(creds))
    assert res.status_code == status, res.get_json()
    assert field in res.get_json()["error"]["fields"]
    assert [e.kind for e in control_events(db, t.id)] == before
    with db.session() as s:
        assert s.get(Incident, (t.id, 2)).status == ("open" if setup == "none" else "resolved")


@pytest.mark.parametrize("second, body, status, field", [
    ({}, {"into": 1, "by": "Ana"}, 400, "into"),                     # itself (the incident is 1)
    ({}, {"into": 9, "by": "Ana"}, 404, None),                       # no such incident
    ({}, {"into": 2}, 400, "by"),
    ({}, {"into": "2", "by": "Ana"}, 400, "into"),
    ({"status": "dismissed"}, {"into": 2, "by": "Ana"}, 409, "status"),
    ({"kind": "drop", "series": "channel:web", "topic_id": None}, {"into": 2, "by": "Ana"}, 409, "kind"),
    ({"kind": "friction", "series": "page:/x:failed_request", "topic_id": None}, {"into": 2, "by": "Ana"}, 409, "kind"),
])
def test_a_merge_that_cannot_be_is_refused_and_changes_nothing(client, db, tenant, second, body, status, field):
    t, creds = tenant
    add_incident(db, t.id, 1)
    add_incident(db, t.id, 2, **{"series": "topic:2", "topic_id": 2, **second})
    res = client.post("/api/v1/incidents/1/merge", json=body, headers=auth(creds))
    assert res.status_code == status, res.get_json()
    if field:
        assert field in res.get_json()["error"]["fields"]
    assert control_events(db, t.id) == []
    with db.session() as s:
        assert s.get(Incident, (t.id, 1)).status == "open"


def test_incidents_of_another_tenant_do_not_merge(client, db, tenant, make_tenant):
    t, creds = tenant
    other, _ = make_tenant("Other")
    add_incident(db, t.id, 1)
    add_incident(db, other.id, 2)
    res = client.post("/api/v1/incidents/1/merge", json={"into": 2, "by": "Ana"}, headers=auth(creds))
    assert res.status_code == 404 and control_events(db, t.id) == []


def test_search_needs_every_word_in_the_title_sentence_summary_or_topic_name(client, db, make_tenant):
    t, creds = make_tenant("Alpha")
    other, _ = make_tenant("Beta")
    add_topic(db, t.id, 1, "invoice pdf", name="Billing exports")
    add_topic(db, t.id, 2, "login")
    add_incident(db, t.id, 1, title="Spike: 'invoice pdf · blank'")
    add_incident(db, t.id, 2, topic_id=2, series="topic:2", title="Spike: 'login'",
                 sentence="9 tickets about 'login', 100% from plan Enterprise.")
    add_incident(db, t.id, 3, topic_id=2, series="topic:2", title="New topic: 'sso'",
                 llm_summary="Enterprise customers cannot sign in with SAML since 09:00.")
    add_incident(db, t.id, 4, topic_id=None, series="all", title="Drop: 'all' 50%_off")
    add_incident(db, other.id, 5, title="Spike: 'invoice pdf'")
    search = lambda q: ids(client.get("/api/v1/incidents", query_string={"q": q}, headers=auth(creds)).get_json())  # noqa: E731
    assert search("INVOICE") == [1]
    assert search("billing") == [1]  # the agents' name of its topic
    assert search("enterprise") == [3, 2]  # the sentence, Claude's summary
    assert search("enterprise saml") == [3]  # every word
    assert search("enterprise invoice") == []
    assert search("%_") == [4] and search("%") == [4, 2]  # LIKE's wildcards are plain characters
    body = client.get("/api/v1/incidents", query_string={"q": "x" * 201}, headers=auth(creds))
    assert body.status_code == 400 and "q" in body.get_json()["error"]["fields"]
    for path in ("/api/v1/incidents", "/api/v1/incidents/export"):  # NUL: PostgreSQL refuses it in a parameter
        body = client.get(path, query_string={"q": "pdf\x00"}, headers=auth(creds))
        assert body.status_code == 400 and "q" in body.get_json()["error"]["fields"]


def test_search_also_reads_the_topic_and_the_subjects_of_the_incident_s_own_tickets(client, db, make_tenant):
    t, creds = make_tenant("Alpha")
    other, other_creds = make_tenant("Beta")
    with db.session() as s:
        s.add(Topic(tenant_id=t.id, id=5, label="login · saml assertion · idp certificate", name=None,
                    keywords=["login", "saml assertion", "idp certificate", "okta"],
                    summary="About login, saml assertion. Typical ticket: \"Sign-in loops\"", size=30,
                    representatives=[], first_seen_at=T0, last_seen_at=T0, updated_at=T0))
        for tenant_id, zid, subject in ((t.id, "100", "SSO login error"), (t.id, "101", "Sign-in fails"),
                                        (t.id, "200", "Invoice 50% off"), (other.id, "100", "Blank invoice"),
                                        (other.id, "300", "SSO broken")):
            s.add(Ticket(tenant_id=tenant_id, zendesk_id=zid, subject=subject))
        s.commit()
    add_incident(db, t.id, 1, kind="concentration", topic_id=5, series="topic:5", tickets=["100", "101"],
                 title="Concentrated rise: 'login · saml assertion · idp certificate'",
                 sentence="10 of its 28 customers met friction on /invoices first")
    add_incident(db, t.id, 2, title="Spike: 'invoice · download'", tickets=["200"])
    add_incident(db, other.id, 3, title="Spike: 'sso'", tickets=["300"])
    search = lambda q, c=creds: ids(client.get("/api/v1/incidents", query_string={"q": q},  # noqa: E731
                                               headers=auth(c)).get_json())
    assert search("sso") == [1]  # a ticket's subject; another tenant's incident about SSO is not listed
    assert search("okta") == [1] and search("IDP") == [1] and search("sign-in") == [1]  # keywords, label, summary
    assert search("blank") == []  # another tenant's ticket with the same Zendesk id is not this incident's
    assert search("50%") == [2] and search("0%") == [2] and search("_") == []  # wildcards stay plain characters
    # an incident named after the word comes before one that only mentions it (and newest first within each)
    assert search("invoice") == [2, 1] and search("invoices") == [1]
    assert search("sso", other_creds) == [3]
    export = client.get("/api/v1/incidents/export", query_string={"q": "invoice"}, headers=auth(creds))
    assert [line.split(",")[0] for line in export.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]] == ["2", "1"]


def test_export_names_the_topic_as_the_page_does_after_a_rename(client, db, tenant):
    import csv
    import io

    t, creds = tenant
    add_topic(db, t.id, 7, "invoice · download · pdf")
    said = "14 tickets from 14 customers in 30 min about 'invoice · download · pdf'; expected 3.0 customers"
    add_incident(db, t.id, 2, topic_id=7, series="topic:7", title="Spike: 'invoice · download · pdf'", sentence=said,
                 evidence={"topic_label": "invoice · download · pdf"})
    add_incident(db, t.id, 3, kind="drop", topic_id=None, series="channel:email", title="Drop: 'channel email'",
                 evidence={})
    assert client.patch("/api/v1/topics/7", json={"name": "Blank invoice PDFs"}, headers=auth(creds)).status_code == 200
    shown = client.get("/api/v1/incidents", headers=auth(creds)).get_json()["incidents"]
    resp = client.get("/api/v1/incidents/export", headers=auth(creds))
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig")))}
    for view in shown:
        assert (rows[str(view["id"])]["title"], rows[str(view["id"])]["sentence"]) == (view["title"], view["sentence"])
    assert rows["2"]["title"] == "Spike: 'Blank invoice PDFs'" and rows["2"]["topic"] == "Blank invoice PDFs"
    assert "about 'Blank invoice PDFs'; expected" in rows["2"]["sentence"]
    assert (rows["2"]["kind"], rows["2"]["kind_name"], rows["3"]["kind_name"]) == ("spike", "Spike", "Drop")


def test_export_is_csv_of_the_same_filters_with_formulas_kept_as_text(client, db, tenant):
    import csv
    import io

    t, creds = tenant
    add_topic(db, t.id, 1, "invoice pdf", name="Billing exports")
    add_incident(db, t.id, 1, title="=HYPERLINK(\"http://evil\",\"click\")", llm_summary="@SUM(A1:A9)")
    add_incident(db, t.id, 2, status="resolved", title="Spike: 'login'", evidence={"merged_into_incident": 1})
    add_incident(db, t.id, 3, kind="drop", topic_id=None, series="channel:email", title="Drop: 'channel email'")
    resp = client.get("/api/v1/incidents/export", query_string={"kind": "spike"}, headers=auth(creds))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="groundswell-incidents-')
    assert resp.headers["X-Total-Count"] == "2" and resp.mimetype_params.get("charset") == "utf-8"
    assert resp.data.startswith(b"\xef\xbb\xbfid,kind,")  # a byte-order mark: Excel then reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["2", "1"]
    assert rows[1]["title"] == "'=HYPERLINK(\"http://evil\",\"click\")" and rows[1]["llm_summary"] == "'@SUM(A1:A9)"
    assert rows[1]["topic"] == "Billing exports" and rows[1]["merged_into"] == ""
    assert rows[0]["status"] == "resolved" and rows[0]["merged_into"] == "1" and rows[0]["llm_summary"] == ""
    assert rows[1]["detected_at"] == "2026-03-02T10:00:00+00:00" and rows[1]["p_value"] == "1e-06"
    everything = client.get("/api/v1/incidents/export", headers=auth(creds))
    assert everything.headers["X-Total-Count"] == "3" and everything.get_data(as_text=True).count("\r\n") == 4
    assert client.get("/api/v1/incidents/export").status_code == 401
    assert client.get("/api/v1/incidents/export", query_string={"kind": "x"}, headers=auth(creds)).status_code == 400


def test_history_tells_what_the_detector_and_people_did_in_order(client, db, tenant):
    from server.notify.outbox import enqueue

    t, creds = tenant
    h = auth(creds)
    add_incident(db, t.id, 1, title="Spike: 'invoice pdf'")
    add_incident(db, t.id, 2, title="Spike: 'pdf blank'")
    with db.session() as s:
        for seq, (event, minutes, changes) in enumerate([("opened", 0, {}),
                                                         ("grew", 30, {"ticket_count": 40, "requester_count": 1}),
                                                         ("resolved", 90, {"status": "resolved"}),
                                                         ("reopened", 120, {}),
                                                         # a person's resolve: listed from its control event
                                                         ("resolved", 150, {"status": "resolved", "status_by": "Cy"}),
                                                         # and a person's reopen
                                                         ("reopened", 160, {"status": "open", "status_by": "Cy"})]):
            enqueue(s, t.id, 1, event, {"id": 1, "status_by": "detector", **changes},
                    T0 + timedelta(hours=1, minutes=minutes), seq)
        s.commit()
    assert client.patch("/api/v1/incidents/1/status", json={"status": "acknowledged", "by": "Ana"},
                        headers=h).status_code == 200
    assert client.post("/api/v1/incidents/1/feedback", json={"verdict": "noise", "by": "<b>Bo</b>", "note": "deploy"},
                       headers=h).status_code == 200
    assert client.post("/api/v1/incidents/2/merge", json={"into": 1, "by": "Ana"}, headers=h).status_code == 200
    history = client.get("/api/v1/incidents/1", headers=h).get_json()["history"]
    assert [(i["event"], i["text"]) for i in history] == [
        ("first_seen", "First ticket of the rise"),
        ("opened", "Opened: Spike: 'invoice pdf'"),
        ("grew", "Grew: 40 tickets from 1 customer"),
        ("resolved", "Resolved by the detector: back at its usual level"),
        ("reopened", "Rising again after it had ended"),
        ("status", "Acknowledged by Ana"),
        ("feedback", "Marked noise by <b>Bo</b>: deploy"),
        ("merged_in", "Incident #2 merged into this one by Ana"),
    ]
    assert history[0]["at"] == "2026-03-02T09:00:00+00:00" and history[1]["by"] == "detector"
    other = client.get("/api/v1/incidents/2", headers=h).get_json()["history"]
    assert [(i["event"], i["by"]) for i in other][-1] == ("merged", "Ana")
    assert other[-1]["text"] == "Merged into incident #1 by Ana"
    assert "status" not in [i["event"] for i in other]  # the merge resolved it: one line, not two


def test_history_calls_an_acknowledgement_taken_back_back_to_open(client, db, tenant):
    t, creds = tenant
    h = auth(creds)
    add_incident(db, t.id, 1, title="Spike: 'invoice pdf'")
    for status, by in (("acknowledged", "Ana"), ("open", "Bo"), ("resolved", "Bo"), ("open", "Cy")):
        res = client.patch("/api/v1/incidents/1/status", json={"status": status, "by": by}, headers=h)
        assert res.status_code == 200, res.get_json()
    history = client.get("/api/v1/incidents/1", headers=h).get_json()["history"]
    assert [i["text"] for i in history if i["event"] == "status"] == [
        "Acknowledged by Ana", "Back to open by Bo", "Resolved by Bo", "Reopened by Cy"]
    assert all(set(i) == {"at", "event", "by", "text"} for i in history)


def test_history_speaks_of_a_pages_sessions_and_a_change_of_tone(client, db, tenant):
    from server.notify.outbox import enqueue

    t, creds = tenant
    add_incident(db, t.id, 1, kind="friction", series="page:/invoices:failed_request", topic_id=None)
    add_incident(db, t.id, 2, kind="sentiment", direction="down", series="organization:7", topic_id=None)
    with db.session() as s:
        enqueue(s, t.id, 1, "opened", {"id": 1, "status_by": "detector"}, T0 + timedelta(hours=1), 0)
        enqueue(s, t.id, 1, "grew", {"id": 1, "status_by": "detector", "ticket_count": 0, "requester_count": 3,
                                     "evidence": {"sessions": 14}}, T0 + timedelta(hours=1, minutes=20), 1)
        s.commit()
    friction = client.get("/api/v1/incidents/1", headers=auth(creds)).get_json()["history"]
    assert [h["text"] for h in friction if h["event"] in ("first_seen", "grew")] == [
        "First failures of the rise on the page", "Grew: 14 sessions on the page"]
    tone = client.get("/api/v1/incidents/2", headers=auth(creds)).get_json()["history"]
    assert tone[0]["text"] == "First ticket of the change of tone"
