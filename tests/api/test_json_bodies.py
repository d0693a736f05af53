"""Token-authenticated endpoints that take a JSON body: a body that is not a JSON object (cut short,
nested too deeply, an array) gets 400 saying so and changes nothing; it is never read as `{}`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import log_rows

NUDGE = {"id": "n1", "match": "/billing*", "title": "Paying by card?", "body": "Try the new form."}
ISSUE = {"id": "k1", "match": "/billing*", "message": "Invoices are late today."}
WIDGET = {"nudges": [NUDGE], "known_issues": [ISSUE], "threshold": 0.7}

#: Every endpoint reading a JSON body with an API token, with a valid body of its kind (what a cut-short
#: body is cut from).
ENDPOINTS = [
    ("put", "/api/v1/settings/widget", WIDGET),
    ("patch", "/api/v1/settings/detection", {"min_requesters": 9}),
    ("post", "/api/v1/backtests", {"days": 7, "settings": {"sensitivity": {"spike": 0.5}}}),
    ("post", "/api/v1/releases", {"version": "v2", "description": "card form"}),
    ("post", "/api/v1/incidents/1/feedback", {"verdict": "noise", "by": "ada"}),
    ("patch", "/api/v1/incidents/1/status", {"status": "resolved", "by": "ada"}),
    ("post", "/api/v1/incidents/1/merge", {"into": 2, "by": "ada"}),
    ("post", "/api/v1/incidents/1/unmerge", {"by": "ada"}),
    ("put", "/api/v1/settings/notifications", {"mode": "off"}),
    ("post", "/api/v1/settings/webhooks", {"format": "pagerduty", "routing_key": "R" * 32}),
    ("patch", "/api/v1/settings/webhooks/{webhook}", {"description": "someone else"}),
    ("post", "/api/v1/mutes", {"series": "channel:email", "hours": 2}),
    ("patch", "/api/v1/topics/1", {"name": "Card payments"}),
    ("post", "/api/v1/incidents/1/problem-ticket", {"ticket_id": 42, "by": "ada"}),
    ("patch", "/api/v1/settings/zendesk", {"auto_link": False}),
]

#: What the tenant's configuration and records look like through the API.
VIEWS = ["/api/v1/settings/widget", "/api/v1/settings/detection", "/api/v1/settings/notifications",
         "/api/v1/settings/webhooks", "/api/v1/settings/zendesk", "/api/v1/mutes", "/api/v1/releases",
         "/api/v1/backtests", "/api/v1/incidents"]

DEPTH = 50_000
NOT_JSON = "The request body is not valid JSON"
TOO_DEEP = "The request body is nested too deeply."
NOT_AN_OBJECT = "The request body must be a JSON object."


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}", "Content-Type": "application/json"}


@pytest.fixture
def configured(client, tenant):  # type: ignore[no-untyped-def]
    """A tenant with something set everywhere a wrongly read body could reset or add to; returns its
    credentials and its webhook's id."""
    _, creds = tenant
    h = auth(creds)
    for method, path, body in [
        ("put", "/api/v1/settings/widget", WIDGET),
        ("patch", "/api/v1/settings/detection", {"min_requesters": 5, "sensitivity": {"drop": 0}}),
        ("put", "/api/v1/settings/notifications",
         {"mode": "webhook", "webhook_url": "https://hooks.slack.com/services/T/B/x"}),
        ("patch", "/api/v1/settings/zendesk", {"auto_link": True}),
        ("post", "/api/v1/mutes", {"series": "all", "hours": 1, "reason": "maintenance"}),
        ("post", "/api/v1/releases", {"version": "v1"}),
    ]:
        r = getattr(client, method)(path, data=json.dumps(body), headers=h)
        assert r.status_code < 300, (path, r.get_json())
    hook = client.post("/api/v1/settings/webhooks", headers=h, data=json.dumps(
        {"format": "pagerduty", "routing_key": "P" * 32, "description": "ops"}))
    assert hook.status_code == 201, hook.get_json()
    return creds, hook.get_json()["id"]


def state(client: Any, db: Any, creds: Any) -> dict[str, Any]:
    views = {path: client.get(path, headers=auth(creds)).get_json() for path in VIEWS}
    return {**views, "log": len(log_rows(db))}


def bad_bodies(valid: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    text = json.dumps(valid)
    return [
        ("cut short", text[:len(text) // 2].encode(), NOT_JSON),
        ("not JSON at all", b"version=v3&by=ada", NOT_JSON),
        ("broken UTF-8", b'{"by": "\xff\xfe"}', NOT_JSON),
        ("deep arrays", b"[" * DEPTH + b"]" * DEPTH, TOO_DEEP),
        ("deep objects", b'{"":' * DEPTH + b"1" + b"}" * DEPTH, TOO_DEEP),  # 250,001 bytes, under 256 KiB
        ("deep under a field", ('{"x": ' + "[" * DEPTH + "]" * DEPTH + "}").encode(), TOO_DEEP),
        ("an array", json.dumps([valid]).encode(), NOT_AN_OBJECT),
        ("an empty array", b"[]", NOT_AN_OBJECT),
        ("null", b"null", NOT_AN_OBJECT),
    ]


@pytest.mark.parametrize("method,path,valid", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(client, db, configured, method, path,
                                                                       valid):
    creds, webhook = configured
    url = path.format(webhook=webhook)
    before = state(client, db, creds)
    for name, body, message in bad_bodies(valid):
        r = getattr(client, method)(url, data=body, headers=auth(creds))
        assert r.status_code == 400, (name, r.status_code, r.get_data(as_text=True)[:300])
        error = r.get_json()["error"]
        assert error["code"] == "bad_request" and error["message"].startswith(message), (name, error)
        assert r.get_json()["request_id"]
    assert state(client, db, creds) == before


def test_a_cut_short_widget_settings_put_keeps_the_nudges_and_known_issues(client, configured):
    creds, _ = configured
    cut = json.dumps(WIDGET)[:40]  # {"nudges": [{"id": "n1", "match": "/bil
    r = client.put("/api/v1/settings/widget", data=cut, headers=auth(creds))
    assert r.status_code == 400 and r.get_json()["error"]["message"].startswith(NOT_JSON)
    kept = client.get("/api/v1/settings/widget", headers=auth(creds)).get_json()
    assert [n["id"] for n in kept["nudges"]] == ["n1"] and [k["id"] for k in kept["known_issues"]] == ["k1"]
    assert kept["threshold"] == 0.7


def test_an_empty_body_is_refused_unless_every_field_has_a_meaningful_default(client, db, configured):
    creds, _ = configured
    h = auth(creds)
    before = state(client, db, creds)
    for method, path in [("put", "/api/v1/settings/widget"), ("post", "/api/v1/releases"),
                         ("put", "/api/v1/settings/notifications"), ("patch", "/api/v1/settings/zendesk")]:
        r = getattr(client, method)(path, data=b"", headers=h)
        assert r.status_code == 400, (path, r.get_json())
        assert r.get_json()["error"]["message"] == "The request body is empty; send a JSON object.", path
    assert state(client, db, creds) == before  # the widget settings were not put back to their defaults
    # `{}` still restores the widget defaults: the caller said so
    r = client.put("/api/v1/settings/widget", data=b"{}", headers=h)
    assert r.status_code == 200 and r.get_json()["nudges"] == [] and r.get_json()["threshold"] == 0.5
    # a PATCH of nothing changes nothing; a backtest of nothing compares the stored settings over 30 days
    r = client.patch("/api/v1/settings/detection", data=b"", headers=h)
    assert r.status_code == 200 and r.get_json() == before["/api/v1/settings/detection"]
    r = client.post("/api/v1/backtests", data=b"", headers=h)
    assert r.status_code == 202 and r.get_json()["status"] == "queued"

