"""Nudge decisions over HTTP: the nudge that answers the friction the session met on the page, decisions
while the detector is behind (from the session's own events in the log), text PostgreSQL cannot store,
and what an incident's banner says."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import select

from server.incidents.models import Incident
from server.topics.models import Topic
from server.widget.models import WidgetDecision, WidgetSession
from tests.conftest import ORIGIN, now_ms, post_widget
from tests.widget.test_api import PAGE, add_incident, decide, fail_three_times, put_settings, run_detector

PAY = {"id": "pay", "match": PAGE, "title": "Having trouble paying?", "body": "Pay by bank transfer.",
       "when": [{"signal": "failed_request", "target": "POST /api/pay"}]}
COUPON = {"id": "coupon", "match": PAGE, "title": "Coupon not accepted?", "body": "Codes are case-sensitive.",
          "when": [{"signal": "form_error", "target": "coupon"}, {"target": "POST /api/coupon"}]}


def bad_coupons(client, creds, session_id="s1", n=3):
    """What the widget sends for ``n`` rejected coupons: the 422 and the field marked aria-invalid."""
    ts = now_ms()
    events = []
    for i in range(n):
        events.append({"id": f"c{ts}-{i}r", "type": "failed_request", "ts": ts - 3000 + i, "url": f"{ORIGIN}{PAGE}",
                       "data": {"method": "POST", "path": "/api/coupon", "status": 422}})
        events.append({"id": f"c{ts}-{i}f", "type": "form_error", "ts": ts - 3000 + i, "url": f"{ORIGIN}{PAGE}",
                       "data": {"form": "coupon", "field": "code", "source": "aria"}})
    body = {"session_id": session_id, "sent_at": ts, "events": events}
    assert post_widget(client, creds.site_key, body).status_code == 202


def test_the_nudge_answers_the_friction_the_session_met_on_the_page(client, tenant, db):
    _, creds = tenant
    put_settings(client, creds, nudges=[PAY])
    bad_coupons(client, creds, "coupons")
    run_detector(db)
    # stuck on the page, but on the coupon: the payment tip is not the answer, and nothing else is configured
    body = decide(client, creds, session_id="coupons").get_json()
    assert (body["reason"], body["nudge"]) == ("no_content", None)
    put_settings(client, creds, nudges=[PAY, COUPON])
    assert decide(client, creds, session_id="coupons").get_json()["nudge"]["id"] == "coupon"
    fail_three_times(client, creds, session_id="payer")
    run_detector(db)
    assert decide(client, creds, session_id="payer").get_json()["nudge"]["id"] == "pay"
    # a tip naming no friction answers any trouble on its page, after those that name it
    anything = {"id": "any", "match": PAGE, "title": "Stuck?", "body": "Write to us."}
    put_settings(client, creds, nudges=[anything, PAY])
    assert decide(client, creds, session_id="coupons").get_json()["nudge"]["id"] == "any"
    assert decide(client, creds, session_id="payer").get_json()["nudge"]["id"] == "pay"
    got = client.get("/api/v1/settings/widget", headers={"Authorization": f"Bearer {creds.api_token}"}).get_json()
    assert got["nudges"][1]["when"] == [{"signal": "failed_request", "target": "POST /api/pay"}]
    assert got["nudges"][0]["when"] == []
    bad = client.put("/api/v1/settings/widget", headers={"Authorization": f"Bearer {creds.api_token}"},
                     json={"nudges": [{**PAY, "when": [{}]}, {**COUPON, "id": "c2", "when": [{"signal": "typo"}]}]})
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]["nudges"]) == {"0", "1"}


def test_a_decision_does_not_wait_for_a_detector_that_is_behind(client, tenant, db):
    """The detector may be busy reading a backlog (a history import): the session's own events in the log
    are judged at once by the same cold-start rule."""
    t, creds = tenant
    put_settings(client, creds, nudges=[PAY, COUPON])
    assert decide(client, creds, session_id="fresh").get_json()["reason"] == "no_data"  # nothing sent yet
    fail_three_times(client, creds, session_id="fresh")  # the detector never runs in this test
    body = decide(client, creds, session_id="fresh").get_json()
    assert (body["reason"], body["nudge"]["id"]) == ("nudge", "pay")
    bad_coupons(client, creds, "two", n=2)  # twice is not stuck, from the log as from the detector
    assert decide(client, creds, session_id="two").get_json()["reason"] == "cold_start"
    run_detector(db)
    assert decide(client, creds, session_id="two").get_json()["reason"] == "cold_start"
    bad_coupons(client, creds, "two", n=1)  # the third, unread: the row's two and the log's one
    assert decide(client, creds, session_id="two").get_json()["nudge"]["id"] == "coupon"
    # a ready classifier decides by its score, which misses the unread events: wait for it
    with db.session() as s:
        s.get(WidgetSession, (t.id, "two")).model_ready = True
        s.commit()
    bad_coupons(client, creds, "two", n=1)
    assert decide(client, creds, session_id="two").get_json()["reason"] == "no_data"


def test_decide_stores_what_postgresql_can_store(client, tenant, db):
    """User ids and URLs are cleaned as the ingest cleans the session's events (NUL dropped, unpaired
    surrogates as U+FFFD), so the decision counts the user the events name, and never fails with 500."""
    t, creds = tenant
    put_settings(client, creds)
    for user, url in (("ann\u0000b", f"{ORIGIN}/bil\u0000ling"), ("ann\ud800", f"{ORIGIN}/b\udc00x")):
        body = {"site_key": creds.site_key, "session_id": "s1", "url": url, "user_id": user}
        r = client.post("/api/v1/widget/decide", data=json.dumps(body), headers={"Origin": ORIGIN},
                        content_type="text/plain")
        assert r.status_code == 200, r.get_json()
    query = {"site_key": creds.site_key, "url": f"{ORIGIN}/b\u0000x"}
    r = client.get("/api/v1/widget/known-issues", query_string=query, headers={"Origin": ORIGIN})
    assert r.status_code == 200
    with db.session() as s:
        rows = s.execute(select(WidgetDecision.user_id, WidgetDecision.path).where(
            WidgetDecision.tenant_id == t.id).order_by(WidgetDecision.id)).all()
    assert [tuple(r) for r in rows] == [("annb", "/billing"), ("ann\ufffd", "/b\ufffdx")]


def test_an_incident_banner_names_the_problem_as_agents_named_it_and_links_the_status_page(client, tenant, db):
    t, creds = tenant
    put_settings(client, creds, status_page_url="https://status.example.com")
    add_incident(db, t.id, 2, "spike", {"pages": [{"path": PAGE, "sessions": 3, "users": 2, "associated": True}]})
    url = f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}{PAGE}"
    [issue] = client.get(url, headers={"Origin": ORIGIN}).get_json()["issues"]
    assert issue == {"id": "incident-2", "link_url": "https://status.example.com", "incident_id": 2,
                     "message": "We know about a problem affecting this page and are working on it."}
    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.get(Incident, (t.id, 2)).topic_id = 7
        s.add(Topic(tenant_id=t.id, id=7, label="invoice pdf · download · blank", name=None, keywords=[], summary="",
                    size=3, representatives=[], first_seen_at=now, last_seen_at=now, merged_into=None, updated_at=now))
        s.commit()
    # a keyword label is made from ticket text: not for customers
    assert client.get(url, headers={"Origin": ORIGIN}).get_json()["issues"][0]["message"].startswith("We know about")
    with db.session() as s:
        s.get(Topic, (t.id, 7)).name = "Blank invoice PDFs"
        s.commit()
    assert client.get(url, headers={"Origin": ORIGIN}).get_json()["issues"][0]["message"] == \
        "Known issue: Blank invoice PDFs. We are working on it."
