from __future__ import annotations

import json

import pytest

from tests.conftest import ORIGIN, log_rows, post_widget, widget_batch


def test_valid_batch_is_stored_and_counted(client, db, tenant):
    t, creds = tenant
    resp = post_widget(client, creds.site_key, widget_batch(3))
    assert resp.status_code == 202
    assert resp.get_json() == {"accepted": 3, "duplicates": 0}
    rows = log_rows(db)
    assert [r.kind for r in rows] == ["widget.click"] * 3
    assert all(r.tenant_id == t.id and r.source == "widget" for r in rows)
    assert rows[0].payload["session_id"] and rows[0].payload["url"] == "https://app.example.com/billing"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_repeated_batch_is_acknowledged_but_stored_once(client, db, tenant):
    _, creds = tenant
    batch = widget_batch(4)
    assert post_widget(client, creds.site_key, batch).get_json() == {"accepted": 4, "duplicates": 0}
    batch["events"].append({"id": "late", "type": "rage_click", "ts": batch["sent_at"],
                            "url": "https://app.example.com/billing", "data": {"clicks": 5}})
    assert post_widget(client, creds.site_key, batch).get_json() == {"accepted": 1, "duplicates": 4}
    assert len(log_rows(db)) == 5


def test_ids_with_colons_never_make_two_sessions_events_one(client, db, tenant):
    """Session and event ids may hold ':'; session "a" event "b:c" and session "a:b" event "c" are two events."""
    _, creds = tenant
    first, second = widget_batch(1, session_id="a"), widget_batch(1, session_id="a:b")
    first["events"][0]["id"], second["events"][0]["id"] = "b:c", "c"
    assert post_widget(client, creds.site_key, first).get_json() == {"accepted": 1, "duplicates": 0}
    assert post_widget(client, creds.site_key, second).get_json() == {"accepted": 1, "duplicates": 0}
    assert sorted(r.payload["session_id"] for r in log_rows(db)) == ["a", "a:b"]


def test_duplicates_inside_one_batch_count_once(client, db, tenant):
    _, creds = tenant
    batch = widget_batch(2)
    batch["events"].append(dict(batch["events"][0]))
    assert post_widget(client, creds.site_key, batch).get_json() == {"accepted": 2, "duplicates": 1}


def test_site_key_may_come_in_the_body_as_text_plain(client, db, tenant):
    """navigator.sendBeacon cannot set headers and sends text/plain."""
    _, creds = tenant
    body = json.dumps(widget_batch(1, site_key=creds.site_key))
    resp = client.post("/api/v1/events", data=body, headers={"Origin": ORIGIN}, content_type="text/plain;charset=UTF-8")
    assert resp.status_code == 202, resp.get_json()
    assert len(log_rows(db)) == 1


@pytest.mark.parametrize("body, field", [
    ({"session_id": "s1"}, "events"),
    ({"session_id": "s1", "events": []}, "events"),
    ({"session_id": "bad id!", "events": [{"id": "a", "type": "click", "ts": 1, "url": "https://x.io/"}]}, "session_id"),
    ({"session_id": "s1", "events": [{"id": "a", "type": "teleport", "ts": 1, "url": "https://x.io/"}]}, "events"),
    ({"session_id": "s1", "events": [{"id": "a", "type": "click", "ts": 1, "url": "javascript:alert(1)"}]}, "events"),
    ({"session_id": "s1", "events": [{"id": "a", "type": "click", "ts": "1", "url": "https://x.io/"}]}, "events"),
    ({"session_id": "s1", "events": [{"id": "a", "type": "click", "ts": 1, "url": "https://x.io/",
                                      "data": {"nested": {"a": 1}}}]}, "events"),
    ({"session_id": "s1", "events": [{"id": "a", "type": "click", "ts": 1, "url": "https://x.io/", "password": "x"}]},
     "events"),
])
def test_schema_errors_name_the_field_and_store_nothing(client, db, tenant, body, field):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, body)
    assert resp.status_code == 400
    data = resp.get_json()
    assert data["error"]["code"] == "invalid"
    assert field in data["error"]["fields"]
    assert data["request_id"]
    assert log_rows(db) == []


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_is_400(client, db, tenant, raw):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, raw)
    assert resp.status_code in (400, 403)  # a body without a site key can't name its tenant
    assert resp.get_json()["error"]["message"]
    assert log_rows(db) == []


def test_malformed_json_with_header_key_is_400(client, db, tenant):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, b"{not json")
    assert resp.status_code == 400
    assert "not valid JSON" in resp.get_json()["error"]["message"]


def test_too_many_events_is_400(client, db, tenant):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, widget_batch(101))
    assert resp.status_code == 400
    assert "events" in resp.get_json()["error"]["fields"]
    assert log_rows(db) == []


def test_oversized_body_is_413_and_keeps_earlier_events(client, db, tenant):
    _, creds = tenant
    assert post_widget(client, creds.site_key, widget_batch(2)).status_code == 202
    big = widget_batch(1)
    big["events"][0]["data"] = {f"k{i}": "x" * 1000 for i in range(30)}
    big["padding"] = "y" * 300_000
    resp = post_widget(client, creds.site_key, big)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "request_entity_too_large"
    assert len(log_rows(db)) == 2


def test_unknown_site_key_is_403(client, db, tenant):
    resp = post_widget(client, "gs_pk_nope", widget_batch(1))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["message"] == "Unknown site key."
    assert log_rows(db) == []


def test_missing_site_key_is_403(client, db, tenant):
    resp = client.post("/api/v1/events", data=json.dumps(widget_batch(1)), headers={"Origin": ORIGIN},
                       content_type="application/json")
    assert resp.status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", None, "https://app.example.com.evil.io", "null"])
def test_origin_not_on_allowlist_is_403(client, db, tenant, origin):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, widget_batch(1), origin=origin)
    assert resp.status_code == 403
    assert "origin" in resp.get_json()["error"]["message"].lower()
    assert log_rows(db) == []


def test_flood_gets_429_with_retry_after_and_keeps_accepted(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "5/minute"
    app.config["RATE_LIMIT_WIDGET_PER_ADDRESS"] = "5/minute"  # one address may use the whole site's limit
    statuses = [post_widget(client, creds.site_key, widget_batch(1)).status_code for _ in range(8)]
    assert statuses == [202] * 5 + [429] * 3
    resp = post_widget(client, creds.site_key, widget_batch(1))
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert len(log_rows(db)) == 5


def test_rate_limit_is_per_site_key(app, client, db, make_tenant):
    _, a = make_tenant("Alpha")
    _, b = make_tenant("Beta")
    app.config["RATE_LIMIT_WIDGET"] = "2/minute"
    app.config["RATE_LIMIT_WIDGET_PER_ADDRESS"] = "2/minute"  # one address may use the whole site's limit
    assert [post_widget(client, a.site_key, widget_batch(1)).status_code for _ in range(3)] == [202, 202, 429]
    assert post_widget(client, b.site_key, widget_batch(1)).status_code == 202


def test_event_time_is_bounded_by_receive_time(client, db, tenant):
    _, creds = tenant
    batch = widget_batch(1)
    batch["events"][0]["ts"] = batch["sent_at"] + 10 * 86400 * 1000  # a client clock far in the future
    del batch["sent_at"]
    assert post_widget(client, creds.site_key, batch).status_code == 202
    row = log_rows(db)[0]
    assert row.event_time <= row.received_at


def test_preflight_allows_the_widget_headers(client):
    resp = client.options("/api/v1/events", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 204
    assert "X-Groundswell-Site-Key" in resp.headers["Access-Control-Allow-Headers"]


def test_rate_limits_can_be_shared_through_redis(db, app_config, make_tenant):
    """With REDIS_URL, every worker and host counts against the same limit."""
    import redis

    from server import create_app

    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).flushdb()
    cfg = dict(app_config, REDIS_URL=url, RATE_LIMIT_WIDGET="3/minute", RATE_LIMIT_WIDGET_PER_ADDRESS="3/minute")
    _, creds = make_tenant()
    first, second = create_app(cfg).test_client(), create_app(cfg).test_client()
    codes = [post_widget(c, creds.site_key, widget_batch(1)).status_code for c in (first, second, first, second)]
    assert codes == [202, 202, 202, 429]
    assert any(b"site:" in k for k in redis.Redis.from_url(url).keys("*"))
    redis.Redis.from_url(url).flushdb()


@pytest.mark.parametrize("field, value, stored", [
    ("target", "a\u0000b", "ab"),
    ("url", "https://app.example.com/\u0000", "https://app.example.com/"),
    ("target", "\ud800x", "\ufffdx"),
    ("title", "Invoices \ud83e", "Invoices \ufffd"),  # half an emoji, as a cut title used to end
    ("user_id", "u\u0000", "u"),
    ("data", {"k\u0000": "v\udc00"}, {"k": "v\ufffd"}),
    ("data", {"x": float("nan"), "n": float("inf"), "m": float("-inf")}, {"x": None, "n": None, "m": None}),
])
def test_text_the_database_cannot_store_is_cleaned_not_refused(client, db, tenant, field, value, stored):
    """PostgreSQL refuses NUL, lone surrogates and NaN/Infinity in jsonb: they used to be a 500, which
    the widget retries forever, holding back every later event of the browser."""
    _, creds = tenant
    batch = widget_batch(1)
    batch["events"][0][field] = value
    resp = post_widget(client, creds.site_key, batch)  # json.dumps writes NaN, Infinity and \ud800 escapes
    assert (resp.status_code, resp.get_json()) == (202, {"accepted": 1, "duplicates": 0})
    (row,) = log_rows(db)
    assert row.payload[field] == stored


@pytest.mark.parametrize("event, sent_at", [
    ({"url": "http://[x/"}, None),  # urlsplit raises ValueError on this IPv6 host
    ({"ts": 2**53}, "omit"),  # no year for it: the event time overflowed
    ({"ts": 0}, 2**53),
    ({"ts": 7_258_118_400_001}, None),
])
def test_malformed_url_or_client_time_is_400_not_500(client, db, tenant, event, sent_at):
    _, creds = tenant
    batch = widget_batch(1)
    batch["events"][0].update(event)
    if sent_at == "omit":
        del batch["sent_at"]
    elif sent_at is not None:
        batch["sent_at"] = sent_at
    resp = post_widget(client, creds.site_key, batch)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["fields"]
    assert log_rows(db) == []


def test_a_client_clock_in_1970_still_gives_a_recent_event_time(client, db, tenant):
    _, creds = tenant
    batch = widget_batch(1)
    batch["sent_at"], batch["events"][0]["ts"] = 5000, 1000  # a reset clock: sent 4 s after the event
    assert post_widget(client, creds.site_key, batch).status_code == 202
    (row,) = log_rows(db)
    assert (row.received_at - row.event_time).total_seconds() == pytest.approx(4)


@pytest.mark.parametrize("raw, message", [
    (b"[" * 3000, "The request body is nested too deeply."),  # deeper than the parser's stack
    (b'{"a":' * 3000, "The request body is nested too deeply."),
    (b'{"a":' * 70 + b"1" + b"}" * 70, "The request body is nested deeper than 64 levels."),  # parsed, refused
], ids=["array-3000", "object-3000", "object-70"])
def test_deeply_nested_body_is_400(client, db, tenant, raw, message):
    _, creds = tenant
    resp = post_widget(client, creds.site_key, raw)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == message
    assert log_rows(db) == []
