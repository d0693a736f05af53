"""Nudge decisions over HTTP: the nudge that answers the friction the session met on the page, decisions
while the detector is behind (from the session's own events in the log), text PostgreSQL cannot store,
and what an incident's banner says."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import event, select, text

from server.eventlog import NewEvent, SqlEventLog
from server.incidents.models import Incident
from server.widget import service
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


def close_tip(client, creds, session_id, nudge_id, **data):
    """What the widget sends when a tip is closed: by the person, or with ``left_page`` when they left its page."""
    ts = now_ms()
    event = {"id": f"d{ts}-{nudge_id}", "type": "nudge_dismissed", "ts": ts, "url": f"{ORIGIN}{PAGE}",
             "data": {"nudge_id": nudge_id, **data}}
    assert post_widget(client, creds.site_key, {"session_id": session_id, "sent_at": ts, "events": [event]}).status_code == 202


def test_a_tip_the_person_closed_is_not_offered_again_in_the_session(client, tenant, db):
    """Three failed payments bring the payment tip; the person closes it and pays once more: the tip does
    not come back (whether the detector has read the dismissal yet or not), and the session's second tip
    goes to the coupon tip when the coupon fails."""
    _, creds = tenant
    put_settings(client, creds, nudges=[PAY, COUPON])  # two tips a session
    fail_three_times(client, creds, session_id="s1")
    assert decide(client, creds, session_id="s1").get_json()["nudge"]["id"] == "pay"
    close_tip(client, creds, "s1", "pay")
    fail_three_times(client, creds, session_id="s1")
    body = decide(client, creds, session_id="s1").get_json()  # the dismissal is still unread by the detector
    assert (body["reason"], body["nudge"]) == ("no_content", None)
    run_detector(db)
    body = decide(client, creds, session_id="s1").get_json()  # now from the session's row
    assert (body["reason"], body["nudge"]) == ("no_content", None)
    bad_coupons(client, creds, "s1")  # as much coupon trouble as payment trouble: the payment tip would win the tie
    assert decide(client, creds, session_id="s1").get_json()["nudge"]["id"] == "coupon"
    # a tip closed because the person left its page was not refused; nor does one session's refusal reach another
    fail_three_times(client, creds, session_id="left")
    assert decide(client, creds, session_id="left").get_json()["nudge"]["id"] == "pay"
    close_tip(client, creds, "left", "pay", left_page=True)
    run_detector(db)
    assert decide(client, creds, session_id="left").get_json()["nudge"]["id"] == "pay"


def test_a_tip_closed_in_the_browser_is_not_offered_again_before_the_closing_reaches_the_server(client, tenant, db):
    """The widget sends the tips the session closed with each decision: the closing event may still be in
    its queue. The tip is not offered (nor counted as a nudge against the session's cap); another is."""
    t, creds = tenant
    put_settings(client, creds, nudges=[PAY, COUPON])
    fail_three_times(client, creds, session_id="s1")
    assert decide(client, creds, session_id="s1").get_json()["nudge"]["id"] == "pay"
    bad_coupons(client, creds, "s1")
    body = decide(client, creds, session_id="s1", closed=["pay"]).get_json()  # no nudge_dismissed sent yet
    assert body["nudge"]["id"] == "coupon"
    body = decide(client, creds, session_id="s1", closed=["pay", "coupon"]).get_json()
    assert (body["reason"], body["nudge"]) == ("no_content", None)
    with db.session() as s:
        reasons = s.scalars(select(WidgetDecision.reason).where(WidgetDecision.tenant_id == t.id)
                            .order_by(WidgetDecision.id)).all()
    assert reasons == ["nudge", "nudge", "no_content"]  # the closed tip was not offered, so not counted
    bad = decide(client, creds, session_id="s1", closed=["pay"] * 21)
    assert bad.status_code == 400 and "closed" in bad.get_json()["error"]["fields"]
    assert decide(client, creds, session_id="s1", closed=["no spaces"]).status_code == 400


#: Unread events of other sessions: enough for PostgreSQL's planner to choose the plans it chooses at scale
#: (on a few thousand rows, reading them all is its cheapest plan).
BACKLOG = 20_000


def other_sessions_backlog(db, tenant_id, n):
    """``n`` unread events of other sessions (one each, on another page), appended as the ingest appends
    them; the detector is busy elsewhere."""
    now = datetime.now(timezone.utc)
    events = [NewEvent(source="widget", kind="widget.page_view", idempotency_key=f"other{i}/{now.timestamp()}", event_time=now,
                       payload={"type": "page_view", "url": f"{ORIGIN}/home"}) for i in range(n)]
    with db.session() as s:
        SqlEventLog().append(s, tenant_id, events, now)
        s.commit()
    if db.dialect == "postgresql":  # planner statistics, as autovacuum keeps them on a growing table
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE events"))
            conn.commit()


@contextmanager
def rows_read(db):
    """Counts what the database reads for the statements on ``events`` run on ``db`` inside the block: on PostgreSQL
    the rows each plan's scans touched (EXPLAIN ANALYZE: rows kept and removed by a filter, per loop), on
    SQLite, which keeps no such count, its virtual machine's steps (a few per row read)."""
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and " events" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    counted = {"rows": 0}
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    for statement, parameters in statements:
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            if db.dialect == "postgresql":
                cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                counted["rows"] += _scanned(cur.fetchone()[0][0]["Plan"])
            else:
                steps = [0]

                def step():
                    steps[0] += 1
                    return 0

                raw.driver_connection.set_progress_handler(step, 1)
                cur.execute(statement, parameters).fetchall()
                raw.driver_connection.set_progress_handler(None, 1)
                counted["rows"] += steps[0]
        finally:
            raw.close()


def _scanned(plan) -> int:
    own = 0
    if "Scan" in plan["Node Type"]:
        own = (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)) * plan["Actual Loops"]
    return own + sum(_scanned(p) for p in plan.get("Plans", ()))


def test_a_decision_reads_a_bounded_part_of_a_long_unread_log(client, tenant, db, monkeypatch):
    """A history import or a busy detector leaves a long unread log: a decision reads only the tenant's
    newest ``MAX_SCANNED`` events, however long the backlog of other sessions is (it walked all of it)."""
    t, creds = tenant
    put_settings(client, creds, nudges=[PAY])
    fail_three_times(client, creds, session_id="mine")  # the session's events are the newest: within the bound
    other_sessions_backlog(db, t.id, BACKLOG)
    fail_three_times(client, creds, session_id="mine")
    app_db = client.application.extensions["groundswell.db"]  # the engine the views use
    monkeypatch.setattr(service, "MAX_SCANNED", 10**9)  # as before: the whole unread log
    with rows_read(app_db) as unbounded:
        assert decide(client, creds, session_id="mine").get_json()["reason"] == "nudge"
    monkeypatch.setattr(service, "MAX_SCANNED", 200)
    with rows_read(app_db) as bounded:
        assert decide(client, creds, session_id="mine").get_json()["reason"] == "nudge"
    other_sessions_backlog(db, t.id, BACKLOG)  # twice the backlog: the same work
    fail_three_times(client, creds, session_id="mine")
    with rows_read(app_db) as longer:
        assert decide(client, creds, session_id="mine").get_json()["reason"] == "cap_session"  # two nudges
    print(f"{db.dialect}: read {unbounded['rows']} unbounded, {bounded['rows']} bounded, {longer['rows']} longer")
    assert bounded["rows"] * 5 < unbounded["rows"]
    assert longer["rows"] < bounded["rows"] * 1.2
    if db.dialect == "postgresql":  # the walk to the bound, then the scan above it
        assert unbounded["rows"] >= BACKLOG and bounded["rows"] <= 2 * (200 + 1) + 50


def test_a_session_whose_events_lie_beyond_the_bound_waits_for_the_detector(client, tenant, db, monkeypatch):
    """Events older than the tenant's newest ``MAX_SCANNED`` are not read: the decision waits (``no_data``),
    unless what was read already makes the session stuck, which more events cannot undo."""
    t, creds = tenant
    put_settings(client, creds, nudges=[PAY, COUPON])
    monkeypatch.setattr(service, "MAX_SCANNED", 20)
    fail_three_times(client, creds, session_id="early")
    bad_coupons(client, creds, "two", n=2)
    other_sessions_backlog(db, t.id, 30)
    assert decide(client, creds, session_id="early").get_json()["reason"] == "no_data"  # stuck, but unread
    assert decide(client, creds, session_id="two").get_json()["reason"] == "no_data"  # not stuck as far as read
    fail_three_times(client, creds, session_id="late")  # stuck within the bound: decided at once
    assert decide(client, creds, session_id="late").get_json()["nudge"]["id"] == "pay"
    run_detector(db)  # caught up: every session is judged again
    assert decide(client, creds, session_id="early").get_json()["nudge"]["id"] == "pay"
    assert decide(client, creds, session_id="two").get_json()["reason"] == "cold_start"
    other_sessions_backlog(db, t.id, 30)  # behind again, on a session it has a row of
    assert decide(client, creds, session_id="two").get_json()["reason"] == "no_data"
    assert decide(client, creds, session_id="early").get_json()["nudge"]["id"] == "pay"  # the row says stuck


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
