"""The widget's HTTP side: decisions, known issues, settings, identity verification, CORS, measurement,
and the built widget's files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.eventlog import SqlEventLog
from server.incidents.models import Incident
from server.pipeline import Runner
from server.pipeline.models import DetectorCheckpoint
from server.pipeline.registry import stage_factory
from server.widget.decisions import in_holdout
from server.widget.identity import user_hash
from server.widget.models import WidgetDecision, WidgetSession
from tests.conftest import ORIGIN, TEST_SECRET_KEY, now_ms, post_widget
from tests.understand.fakes import HashingEmbedder

PAGE = "/billing"
NUDGE = {"id": "pay", "match": PAGE, "title": "Trouble paying?", "body": "Try <b>a card</b>.",
         "link_url": "https://help.example.com/pay", "link_text": "Payment help"}


def auth(creds) -> dict:
    return {"Authorization": f"Bearer {creds.api_token}"}


def put_settings(client, creds, **settings):
    body = {"nudges": [NUDGE], "holdout": 0.0, "cap_per_session": 2, "cap_per_day": 3, **settings}
    r = client.put("/api/v1/settings/widget", json=body, headers=auth(creds))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def decide(client, creds, session_id="s1", origin=ORIGIN, path=PAGE, **extra):
    body = {"site_key": creds.site_key, "session_id": session_id, "url": f"{ORIGIN}{path}?q=1", **extra}
    headers = {"Origin": origin} if origin else {}
    return client.post("/api/v1/widget/decide", data=json.dumps(body), headers=headers, content_type="text/plain")


def fail_three_times(client, creds, session_id="s1", user_id=None, **data):
    ts = now_ms()
    events = [{"id": f"f{ts}-{i}", "type": "failed_request", "ts": ts - 3000 + i, "url": f"{ORIGIN}{PAGE}",
               "data": {"method": "POST", "path": "/api/pay", "status": 500, **data}} for i in range(3)]
    if user_id:
        for e in events:
            e["user_id"] = user_id
    assert post_widget(client, creds.site_key, {"session_id": session_id, "sent_at": ts, "events": events}).status_code == 202


def run_detector(db):
    factory = stage_factory(db, embed=HashingEmbedder().embed, secret_key=TEST_SECRET_KEY)
    Runner(db, SqlEventLog(), factory).run_until_idle()


def test_settings_need_the_token_validate_and_fill_defaults(client, tenant):
    _, creds = tenant
    assert client.get("/api/v1/settings/widget").status_code == 401
    got = client.get("/api/v1/settings/widget", headers=auth(creds)).get_json()
    assert got["holdout"] == 0.1 and got["nudges"] == [] and got["identity_secret_set"] is False
    bad = client.put("/api/v1/settings/widget", json={"holdout": 2, "nudges": [{**NUDGE, "link_url": "javascript:x"}]},
                     headers=auth(creds))
    assert bad.status_code == 400 and "holdout" in json.dumps(bad.get_json())
    dup = client.put("/api/v1/settings/widget", json={"nudges": [NUDGE, NUDGE]}, headers=auth(creds))
    assert dup.status_code == 400
    saved = put_settings(client, creds, threshold=0.7)
    assert saved["threshold"] == 0.7 and saved["nudges"][0]["id"] == "pay" and saved["cold_start"]["repeat_failures"] == 3


def test_a_stuck_session_gets_the_nudge_with_its_reason_then_the_caps(client, tenant, db):
    t, creds = tenant
    put_settings(client, creds)
    assert decide(client, creds).get_json()["reason"] == "no_data"
    fail_three_times(client, creds)
    run_detector(db)
    r = decide(client, creds)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = r.get_json()
    assert body["reason"] == "nudge" and body["holdout"] is False and body["p_ticket"] is None
    assert body["nudge"] == {k: NUDGE[k] for k in ("id", "title", "body", "link_url", "link_text")}
    assert decide(client, creds).get_json()["reason"] == "nudge"
    assert decide(client, creds).get_json()["reason"] == "cap_session"  # cap_per_session=2
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "cold_start"
    # events the detector has not read yet are judged from the log by the same rule (none failed on
    # /elsewhere); another session's unread events (steady traffic) play no part
    fail_three_times(client, creds, session_id="s1")
    fail_three_times(client, creds, session_id="s2")
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "cold_start"
    run_detector(db)
    fail_three_times(client, creds, session_id="s2")
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "cold_start"
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "cold_start"
    with db.session() as s:  # a checkpoint left from an older partitioning lags behind; it does not hold answers back
        s.get(WidgetSession, (t.id, "s1")).last_offset = None  # a row from before last_offset: the checkpoint says
        s.add(DetectorCheckpoint(partition=f"p{t.id % 2}of2", offset=0, events_processed=0, state=b"",
                                 updated_at=datetime.now(timezone.utc)))
        s.commit()
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "cold_start"
    with db.session() as s:
        rows = s.scalars(select(WidgetDecision).where(WidgetDecision.tenant_id == t.id)
                         .order_by(WidgetDecision.id)).all()
    assert [r.reason for r in rows] == ["no_data", "nudge", "nudge", "cap_session", "cold_start", "cold_start",
                                        "cold_start", "cold_start", "cold_start"]
    assert rows[1].path == PAGE and rows[1].nudge_id == "pay" and rows[1].would_nudge


def test_the_reason_names_what_decided_the_classifier_or_the_cold_start_rule(client, tenant, db):
    t, creds = tenant
    put_settings(client, creds)
    fail_three_times(client, creds)
    run_detector(db)

    def row(p_ticket, ready):
        with db.session() as s:
            r = s.get(WidgetSession, (t.id, "s1"))
            r.p_ticket, r.model_ready = p_ticket, ready
            s.commit()

    row(0.945, False)  # a high estimate from a classifier still learning: the rule decides, and says so
    body = decide(client, creds, path="/elsewhere").get_json()
    assert (body["reason"], body["p_ticket"]) == ("cold_start", 0.945)
    row(0.2, True)
    assert decide(client, creds, path="/elsewhere").get_json()["reason"] == "below_threshold"
    put_settings(client, creds, cold_start={"enabled": False})
    row(0.945, False)
    assert decide(client, creds).get_json()["reason"] == "learning"  # stuck by the rule, but the rule is off
    spec = client.get("/api/v1/openapi.json").get_json()
    reasons = spec["components"]["schemas"]["DecideOut"]["properties"]["reason"]["enum"]
    assert {"below_threshold", "cold_start", "learning"} <= set(reasons)


def test_the_day_cap_counts_the_users_sessions(client, tenant, db):
    _, creds = tenant
    put_settings(client, creds, cap_per_session=5, cap_per_day=2)
    for sid in ("a1", "a2", "a3"):
        fail_three_times(client, creds, session_id=sid, user_id="42")
    run_detector(db)
    reasons = [decide(client, creds, session_id=sid, user_id="42").get_json()["reason"] for sid in ("a1", "a2", "a3")]
    assert reasons == ["nudge", "nudge", "cap_day"]
    assert decide(client, creds, session_id="a3").get_json()["reason"] == "nudge"  # anonymous: per session


def test_holdout_sessions_get_no_nudge_and_are_recorded(client, tenant, db):
    t, creds = tenant
    put_settings(client, creds, holdout=0.5)
    held = next(f"h{i}" for i in range(200) if in_holdout(t.id, f"h{i}", 0.5))
    fail_three_times(client, creds, session_id=held)
    run_detector(db)
    body = decide(client, creds, session_id=held).get_json()
    assert body == {**body, "nudge": None, "reason": "holdout", "holdout": True}
    with db.session() as s:
        row = s.scalar(select(WidgetDecision).where(WidgetDecision.session_id == held))
    assert row.would_nudge and row.holdout and row.nudge_id == "pay"


def test_decide_checks_site_key_origin_and_input(client, tenant, make_tenant):
    _, creds = tenant
    assert decide(client, creds, origin="https://evil.example.net").status_code == 403
    assert decide(client, creds, origin=None).status_code == 403
    r = client.post("/api/v1/widget/decide", json={"site_key": "gs_pk_nope", "session_id": "s", "url": ORIGIN},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 403
    r = client.post("/api/v1/widget/decide", data="{", headers={"Origin": ORIGIN}, content_type="text/plain")
    assert r.status_code == 400
    r = client.post("/api/v1/widget/decide", json={"site_key": creds.site_key, "session_id": "bad id!", "url": ORIGIN},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 400 and "session_id" in json.dumps(r.get_json())
    # the key may come in the header
    r = client.post("/api/v1/widget/decide", json={"session_id": "s", "url": ORIGIN + PAGE},
                    headers={"Origin": ORIGIN, "X-Groundswell-Site-Key": creds.site_key})
    assert r.status_code == 200
    # another tenant's key does not open this tenant's origin
    _, other = make_tenant("Other", origins=("https://other.example.org",))
    assert decide(client, other).status_code == 403


def test_preflight_answers_cors(client):
    for path, method in (("/api/v1/widget/decide", "POST"), ("/api/v1/widget/known-issues", "GET")):
        r = client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method})
        assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert method in r.headers["Access-Control-Allow-Methods"]
        assert "X-Groundswell-Site-Key" in r.headers["Access-Control-Allow-Headers"]


def add_incident(db, tenant_id, incident_id, kind, evidence, status="open"):
    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.add(Incident(tenant_id=tenant_id, id=incident_id, kind=kind, status=status, status_by="detector",
                       status_changed_at=now, series="x", topic_id=None, title="<script>x</script>", sentence="s",
                       direction="up", first_seen_at=now, detected_at=now, last_activity_at=now, resolved_at=None,
                       ticket_count=1, requester_count=1, account_count=0, p_value=0.001, surprise=3.0,
                       evidence=evidence, useful_count=0, noise_count=0, updated_at=now))
        s.commit()


def test_known_issues_come_from_incidents_naming_the_page_and_from_admins(client, tenant, make_tenant, db):
    t, creds = tenant
    put_settings(client, creds, known_issues=[{"id": "maint", "match": "/bill*", "message": "Card payments are slow.",
                                               "link_url": "https://status.example.com"}])
    add_incident(db, t.id, 1, "friction", {"path": PAGE, "signal": "failed_request"})
    add_incident(db, t.id, 2, "spike", {"pages": [{"path": PAGE, "sessions": 3, "users": 2}]})
    add_incident(db, t.id, 3, "spike", {"pages": [{"path": "/other", "sessions": 3, "users": 2}]})
    add_incident(db, t.id, 4, "friction", {"path": PAGE}, status="resolved")
    other, _ = make_tenant("Other")
    add_incident(db, other.id, 9, "friction", {"path": PAGE})
    r = client.get(f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}{PAGE}",
                   headers={"Origin": ORIGIN})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == ORIGIN
    issues = r.get_json()["issues"]
    # one banner for the page's detected problems (its friction incident's), then the admin's
    assert [i["incident_id"] for i in issues] == [1, None]
    assert issues[-1] == {"id": "maint", "message": "Card payments are slow.", "link_url": "https://status.example.com",
                          "incident_id": None}
    assert all("<script>" not in i["message"] for i in issues)  # detector titles never reach end users
    assert client.get(f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}{PAGE}",
                      headers={"Origin": "https://evil.example.net"}).status_code == 403
    # the decision carries the same banners
    assert len(decide(client, creds).get_json()["banners"]) == 2
    # friction incidents are incidents like the others in the API
    detail = client.get("/api/v1/incidents/1", headers=auth(creds))
    assert detail.status_code == 200 and detail.get_json()["kind"] == "friction"
    listed = client.get("/api/v1/incidents?kind=friction", headers=auth(creds)).get_json()
    assert sorted(i["id"] for i in listed["incidents"]) == [1, 4]


def test_a_page_named_by_several_ticket_incidents_gets_one_banner_the_newest(client, tenant, db):
    t, creds = tenant
    add_incident(db, t.id, 5, "spike", {"pages": [{"path": PAGE, "sessions": 3, "users": 2}]})
    add_incident(db, t.id, 6, "new_topic", {"pages": [{"path": PAGE, "sessions": 4, "users": 4}]})
    # newer still, but a change of tone and a drop are no problem of the page, whatever pages their people met
    add_incident(db, t.id, 7, "sentiment", {"pages": [{"path": PAGE, "sessions": 9, "users": 9}]})
    add_incident(db, t.id, 8, "drop", {"pages": [{"path": PAGE, "sessions": 9, "users": 9}]})
    # newer still, but its customers met friction on the page no more than everyone does: no clue to it
    add_incident(db, t.id, 10, "concentration", {"requesters": 12, "pages": [
        {"path": PAGE, "sessions": 9, "users": 9, "usual_share": 0.7, "p_value": 0.4, "associated": False}]})
    # and an older incident's evidence: two customers but not a third of its twelve
    add_incident(db, t.id, 4, "spike", {"requesters": 12, "pages": [{"path": PAGE, "sessions": 2, "users": 2}]})
    r = client.get(f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}{PAGE}",
                   headers={"Origin": ORIGIN})
    issues = r.get_json()["issues"]
    assert [(i["id"], i["incident_id"]) for i in issues] == [("incident-6", 6)]
    assert issues[0]["message"] == "We know about a problem affecting this page and are working on it."


def test_identity_verification_drops_unsigned_user_ids(client, tenant, db):
    t, creds = tenant
    put_settings(client, creds, identity_required=True, ticket_user_keys=["requester_id"], cap_per_day=1,
                 cap_per_session=5)
    r = client.post("/api/v1/settings/widget/identity-secret", headers=auth(creds))
    secret = r.get_json()["identity_secret"]
    assert r.headers["Cache-Control"] == "no-store" and secret.startswith("gs_id_")
    assert client.get("/api/v1/settings/widget", headers=auth(creds)).get_json()["identity_secret_set"] is True
    fail_three_times(client, creds, session_id="good", user_id="77", user_hash=user_hash(secret, "77"))
    fail_three_times(client, creds, session_id="forged", user_id="78", user_hash=user_hash("wrong", "78"))
    run_detector(db)
    with db.session() as s:
        users = dict(s.execute(select(WidgetSession.session_id, WidgetSession.user_id)
                               .where(WidgetSession.tenant_id == t.id)).all())
    assert users == {"good": "77", "forged": None}
    # decisions: a forged id is anonymous, so it does not spend the real user's day cap
    assert decide(client, creds, session_id="good", user_id="77", user_hash=user_hash(secret, "77")).get_json()["reason"] == "nudge"
    assert decide(client, creds, session_id="forged", user_id="77", user_hash="0" * 64).get_json()["reason"] == "nudge"
    with db.session() as s:
        recorded = dict(s.execute(select(WidgetDecision.session_id, WidgetDecision.user_id)).all())
    assert recorded == {"good": "77", "forged": None}


def test_measurement_compares_nudged_and_held_out_sessions(client, tenant, db):
    t, creds = tenant
    now = datetime.now(timezone.utc)
    with db.session() as s:
        def add(sid, holdout, outcome, user="1"):
            s.add(WidgetDecision(tenant_id=t.id, session_id=sid, user_id=user, path=PAGE,
                                 reason="holdout" if holdout else "nudge", nudge_id="pay", holdout=holdout,
                                 would_nudge=True, p_ticket=None, decided_at=now - timedelta(days=2)))
            s.add(WidgetSession(tenant_id=t.id, session_id=sid, user_id=user, account_id=None,
                                started_at=now - timedelta(days=2), last_seen_at=now - timedelta(days=2),
                                last_path=PAGE, features={}, p_ticket=None, stuck_pages=[], model_ready=False,
                                outcome=outcome, ticket_at=None, updated_at=now))
        for i in range(70):
            add(f"n{i}", False, "ticket" if i < 56 else "none")
        for i in range(80):
            add(f"h{i}", True, "ticket" if i < 48 else "none")
        add("pending", False, None)
        add("anon", True, None, user=None)
        s.add(WidgetDecision(tenant_id=t.id, session_id="old", user_id="1", path=PAGE, reason="nudge", nudge_id="pay",
                             holdout=False, would_nudge=True, p_ticket=None, decided_at=now - timedelta(days=90)))
        s.commit()
    assert client.get("/api/v1/widget/measurement").status_code == 401
    m = client.get("/api/v1/widget/measurement", headers=auth(creds)).get_json()
    assert m["nudged"]["sessions"] == 70 and m["nudged"]["tickets"] == 56
    assert m["holdout"]["sessions"] == 80 and m["holdout"]["tickets"] == 48
    assert m["difference"] == 0.2 and m["interval"] == [0.0524, 0.3339]  # Newcombe's published example
    assert m["pending"] == 1 and m["anonymous"] == 1 and m["days"] == 28 and "more" in m["sentence"]
    assert client.get("/api/v1/widget/measurement?days=0", headers=auth(creds)).status_code == 400


@pytest.fixture
def dist(tmp_path, app):
    app.config["WIDGET_DIST_DIR"] = str(tmp_path)
    return tmp_path


def test_the_built_widget_is_served_with_caching_and_cors(client, dist):
    assert client.get("/widget/v1/core.js").status_code == 404
    assert "not built" in client.get("/widget/v1/core.js").get_json()["error"]["message"]
    (dist / "loader.js").write_text("/*loader*/")
    (dist / "core.js").write_text("/*core*/")
    r = client.get("/widget/v1/loader.js")
    assert r.status_code == 200 and r.data == b"/*loader*/"
    assert r.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=300" in r.headers["Cache-Control"] and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers.get("ETag")
    assert "max-age=3600" in client.get("/widget/v1/core.js").headers["Cache-Control"]
    assert client.get("/widget/v1/secret.py").status_code == 404
    assert client.get("/widget/v1/..%2Fapp.py").status_code == 404


def test_a_decision_follows_the_sessions_row_not_the_slower_checkpoint(client, tenant, db):
    """The detector writes session rows with every batch but saves its checkpoint every 30 s: a session
    whose events are in its row is judged at once, whatever the checkpoint says."""
    t, creds = tenant
    put_settings(client, creds)
    fail_three_times(client, creds, session_id="quick")
    run_detector(db)
    with db.session() as s:  # as between two checkpoints: the rows are written, the saved offset is older
        for cp in s.scalars(select(DetectorCheckpoint)):
            cp.offset = 0
        row = s.get(WidgetSession, (t.id, "quick"))
        assert row.last_offset and row.last_offset > 0
        s.commit()
    assert decide(client, creds, session_id="quick").get_json()["reason"] == "nudge"


def test_another_sessions_unread_events_never_hold_a_decision_back(client, tenant, db):
    """Session ids may hold ':': session "quick:2" sharing "quick" as a prefix is another session."""
    put_settings(client, creds := tenant[1])
    fail_three_times(client, creds, session_id="quick")
    run_detector(db)
    fail_three_times(client, creds, session_id="quick:2")  # unread by the detector, not this session's
    assert decide(client, creds, session_id="quick").get_json()["reason"] == "nudge"
