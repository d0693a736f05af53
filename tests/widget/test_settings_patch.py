"""The widget settings API: what GET answers goes back through PUT unchanged, and PATCH changes only the
settings it names (the rest of the configuration, tips and known issues included, stays as stored)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.widget.models import WidgetSession
from tests.conftest import log_rows

NUDGE = {"id": "pay", "match": "/billing", "title": "Trouble paying?", "body": "Try a card.",
         "link_url": "https://help.example.com/pay", "link_text": "Payment help", "when": []}
ISSUE = {"id": "pdf", "match": "/invoices", "message": "Invoice PDFs are blank; we are on it.", "link_url": None}


def auth(creds) -> dict:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {creds.api_token}"}


def test_what_get_answers_can_be_put_back(client, tenant):  # type: ignore[no-untyped-def]
    _, creds = tenant
    assert client.put("/api/v1/settings/widget", json={"nudges": [NUDGE], "holdout": 0.0},
                      headers=auth(creds)).status_code == 200
    got = client.get("/api/v1/settings/widget", headers=auth(creds)).get_json()
    assert "identity_secret_set" in got
    again = client.put("/api/v1/settings/widget", json=got, headers=auth(creds))
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == got
    alone = client.put("/api/v1/settings/widget", json={"identity_secret_set": True}, headers=auth(creds))
    assert alone.status_code == 400 and "identity_secret_set" in alone.get_json()["error"]["fields"]
    assert client.get("/api/v1/settings/widget", headers=auth(creds)).get_json() == got  # not a reset


def test_patch_changes_only_what_it_names(client, db, tenant):  # type: ignore[no-untyped-def]
    t, creds = tenant
    put = {"nudges": [NUDGE], "holdout": 0.0, "status_page_url": "https://status.example.com",
           "friction": {"min_sessions": 4, "weekly_false_alarms": 2.0}}
    assert client.put("/api/v1/settings/widget", json=put, headers=auth(creds)).status_code == 200
    before = len(log_rows(db))
    r = client.patch("/api/v1/settings/widget", json={"known_issues": [ISSUE], "friction": {"min_sessions": 6}},
                     headers=auth(creds))
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["known_issues"] == [{**ISSUE, "pages_matched": 0}] and got["nudges"] == [NUDGE]  # the tips are kept
    assert got["holdout"] == 0.0 and got["status_page_url"] == "https://status.example.com"
    assert got["friction"] == {"min_sessions": 6, "weekly_false_alarms": 2.0, "warmup_hours": 24}
    assert client.get("/api/v1/settings/widget", headers=auth(creds)).get_json() == got
    events = log_rows(db)[before:]  # the detector hears of it as of any change
    assert [e.kind for e in events] == ["control.widget_settings"]
    assert events[0].payload["widget"]["known_issues"] == [ISSUE] and events[0].tenant_id == t.id


def test_a_bad_patch_is_refused_and_changes_nothing(client, tenant):  # type: ignore[no-untyped-def]
    _, creds = tenant
    assert client.put("/api/v1/settings/widget", json={"nudges": [NUDGE]}, headers=auth(creds)).status_code == 200
    stored = client.get("/api/v1/settings/widget", headers=auth(creds)).get_json()
    for body in ({"holdout": 2}, {"friction": {"min_sessions": 0}}, {"nudges": [NUDGE, NUDGE]}, {"colour": "red"},
                 {"friction": "lots"}, [1, 2]):
        r = client.patch("/api/v1/settings/widget", json=body, headers=auth(creds))
        assert r.status_code == 400, (body, r.get_json())
    assert client.patch("/api/v1/settings/widget", json={}).status_code == 401
    assert client.get("/api/v1/settings/widget", headers=auth(creds)).get_json() == stored


def test_a_change_based_on_an_older_reading_is_refused_with_if_match(client, tenant):  # type: ignore[no-untyped-def]
    _, creds = tenant
    ISSUE2 = {**ISSUE, "id": "sso", "match": "/login"}
    read = client.get("/api/v1/settings/widget", headers=auth(creds))
    version = read.headers["ETag"]
    # someone else declares an issue meanwhile
    first = client.patch("/api/v1/settings/widget", json={"known_issues": [ISSUE]},
                         headers={**auth(creds), "If-Match": version})
    assert first.status_code == 200 and first.headers["ETag"] != version
    # a list built from the first reading would undo it: refused, and nothing changes
    stale = client.patch("/api/v1/settings/widget", json={"known_issues": [ISSUE2]},
                         headers={**auth(creds), "If-Match": version})
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "precondition_failed"
    assert client.put("/api/v1/settings/widget", json={}, headers={**auth(creds), "If-Match": version}).status_code == 412
    now = client.get("/api/v1/settings/widget", headers=auth(creds))
    assert now.get_json()["known_issues"] == [{**ISSUE, "pages_matched": 0}] and now.headers["ETag"] == first.headers["ETag"]
    again = client.patch("/api/v1/settings/widget", json={"known_issues": [ISSUE, ISSUE2]},
                         headers={**auth(creds), "If-Match": now.headers["ETag"]})
    assert again.status_code == 200 and [i["id"] for i in again.get_json()["known_issues"]] == ["pdf", "sso"]
    # without If-Match (or with *) a change applies to whatever is stored, as before
    assert client.patch("/api/v1/settings/widget", json={"holdout": 0.2}, headers=auth(creds)).status_code == 200
    assert client.patch("/api/v1/settings/widget", json={"holdout": 0.3},
                        headers={**auth(creds), "If-Match": "*"}).status_code == 200


def seen(db, tenant_id: int, session_id: str, pages: list[str], days_ago: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    """A widget session the detector wrote, last seen ``days_ago`` days ago, that visited ``pages``."""
    at = datetime.now(timezone.utc) - timedelta(days=days_ago)
    with db.session() as s:
        s.add(WidgetSession(tenant_id=tenant_id, session_id=session_id, user_id=None, account_id=None, started_at=at,
                            last_seen_at=at, last_path=pages[-1], features={"pages": {p: {} for p in pages}},
                            p_ticket=None, stuck_pages=[], model_ready=False, outcome=None, ticket_at=None,
                            last_offset=None, updated_at=at))
        s.commit()


def test_each_known_issue_says_how_many_pages_the_widget_saw_lately_its_pattern_matches(client, db, tenant):  # type: ignore[no-untyped-def]
    t, creds = tenant
    seen(db, t.id, "a", ["/demo/acme/invoices", "/demo/acme/billing"])
    seen(db, t.id, "b", ["/demo/acme/billing"])
    seen(db, t.id, "c", ["/demo/acme/billing/cards"])
    seen(db, t.id, "old", ["/billing"], days_ago=8)  # seen over a week ago: not counted
    billing = {"id": "pay", "match": "/billing*", "message": "Payments fail; we are on it.", "link_url": None}
    r = client.patch("/api/v1/settings/widget", json={"known_issues": [billing]}, headers=auth(creds))
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    # the suggested pattern matches none of the pages the widget saw: its banner would show nowhere
    assert got["known_issues"] == [{**billing, "pages_matched": 0}]
    assert got["pages_seen"] == {"days": 7, "count": 3, "paths": ["/demo/acme/billing", "/demo/acme/billing/cards",
                                                                   "/demo/acme/invoices"]}
    # what the answer says goes back with the list (as the incidents page sends it) and is not stored
    fixed = {**billing, "id": "pay2", "match": "/demo/acme/billing*"}
    read = client.get("/api/v1/settings/widget", headers=auth(creds))
    r = client.patch("/api/v1/settings/widget", json={"known_issues": read.get_json()["known_issues"] + [fixed]},
                     headers={**auth(creds), "If-Match": read.headers["ETag"]})
    assert r.status_code == 200, r.get_json()
    assert [(i["id"], i["pages_matched"]) for i in r.get_json()["known_issues"]] == [("pay", 0), ("pay2", 2)]
    assert log_rows(db)[-1].payload["widget"]["known_issues"] == [billing, fixed]
    # the version is the settings' alone: pages seen since do not make a reading stale
    seen(db, t.id, "d", ["/billing"])
    again = client.get("/api/v1/settings/widget", headers=auth(creds))
    assert again.headers["ETag"] == r.headers["ETag"] and again.get_json()["known_issues"][0]["pages_matched"] == 1
    assert client.put("/api/v1/settings/widget", json=again.get_json(),
                      headers={**auth(creds), "If-Match": again.headers["ETag"]}).status_code == 200
    alone = client.put("/api/v1/settings/widget", json={"pages_seen": {}}, headers=auth(creds))
    assert alone.status_code == 400 and "pages_seen" in alone.get_json()["error"]["fields"]
