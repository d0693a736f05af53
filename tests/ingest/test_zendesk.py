from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from server.ingest.signing import ZENDESK_TEST_SECRET, sign
from tests.conftest import log_rows, post_zendesk, signed_headers, zendesk_event


def test_event_subscribed_delivery_is_stored(client, db, tenant):
    t, creds = tenant
    resp = post_zendesk(client, t.slug, creds.webhook_secret, zendesk_event(42, "evt-1"))
    assert resp.status_code == 202
    assert resp.get_json() == {"accepted": 1, "duplicates": 0}
    (row,) = log_rows(db)
    assert (row.source, row.kind, row.idempotency_key) == ("zendesk", "zendesk.ticket.created", "event:evt-1")
    assert row.payload["detail"]["id"] == "42"


def test_redelivered_event_is_stored_once(client, db, tenant):
    t, creds = tenant
    payload = zendesk_event(7, "evt-same")
    assert post_zendesk(client, t.slug, creds.webhook_secret, payload).get_json()["accepted"] == 1
    again = post_zendesk(client, t.slug, creds.webhook_secret, payload)
    assert again.status_code == 202 and again.get_json() == {"accepted": 0, "duplicates": 1}
    assert len(log_rows(db)) == 1


@pytest.mark.parametrize("mutate", [
    lambda h: h.update({"X-Zendesk-Webhook-Signature": "AAAA"}),
    lambda h: h.pop("X-Zendesk-Webhook-Signature"),
    lambda h: h.pop("X-Zendesk-Webhook-Signature-Timestamp"),
    lambda h: h.update({"X-Zendesk-Webhook-Signature-Timestamp": "yesterday"}),
])
def test_bad_signature_is_401(client, db, tenant, mutate):
    t, creds = tenant
    body = json.dumps(zendesk_event()).encode()
    headers = signed_headers(creds.webhook_secret, body)
    mutate(headers)
    resp = client.post(f"/webhooks/zendesk/{t.slug}", data=body, headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    assert creds.webhook_secret not in resp.get_data(as_text=True)
    assert log_rows(db) == []


def test_stale_timestamp_is_401_even_if_correctly_signed(client, db, tenant):
    t, creds = tenant
    body = json.dumps(zendesk_event()).encode()
    old = (datetime.now(timezone.utc) - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = client.post(f"/webhooks/zendesk/{t.slug}", data=body, headers=signed_headers(creds.webhook_secret, body, old))
    assert resp.status_code == 401
    assert "window" in resp.get_json()["error"]["message"]


def test_signature_of_another_body_is_401(client, db, tenant):
    t, creds = tenant
    body = json.dumps(zendesk_event()).encode()
    headers = signed_headers(creds.webhook_secret, body)
    resp = client.post(f"/webhooks/zendesk/{t.slug}", data=body.replace(b"NEW", b"OPEN"), headers=headers)
    assert resp.status_code == 401


def test_unknown_tenant_is_403(client, db, tenant):
    _, creds = tenant
    resp = post_zendesk(client, "nobody", creds.webhook_secret, zendesk_event())
    assert resp.status_code == 403
    assert log_rows(db) == []


def test_test_secret_only_behind_its_flag(app, client, db, tenant):
    t, _ = tenant
    assert post_zendesk(client, t.slug, ZENDESK_TEST_SECRET, zendesk_event()).status_code == 401
    app.config["ALLOW_ZENDESK_TEST_SECRET"] = True
    assert post_zendesk(client, t.slug, ZENDESK_TEST_SECRET, zendesk_event()).status_code == 202


@pytest.mark.parametrize("payload, field", [
    ({"event": "created"}, "ticket_id"),
    ({"ticket_id": "12; DROP"}, "ticket_id"),
    ({"ticket_id": True}, "ticket_id"),
    ({**zendesk_event(), "time": "not a time"}, "time"),
    ({k: v for k, v in zendesk_event().items() if k != "detail"}, "detail"),
    ({**zendesk_event(), "type": "zen:event-type:<script>"}, "type"),
])
def test_invalid_payloads_name_the_field(client, db, tenant, payload, field):
    t, creds = tenant
    resp = post_zendesk(client, t.slug, creds.webhook_secret, payload)
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert log_rows(db) == []


@pytest.mark.parametrize("raw", [b"{oops", b"[]", b'"text"'])
def test_malformed_signed_json_is_400(client, db, tenant, raw):
    t, creds = tenant
    resp = post_zendesk(client, t.slug, creds.webhook_secret, raw)
    assert resp.status_code == 400
    assert log_rows(db) == []


def test_oversized_delivery_is_413(client, db, tenant):
    t, creds = tenant
    payload = zendesk_event()
    payload["detail"]["description"] = "x" * 300_000
    resp = post_zendesk(client, t.slug, creds.webhook_secret, payload)
    assert resp.status_code == 413
    assert log_rows(db) == []


def test_flood_is_429_per_tenant(app, client, db, tenant):
    t, creds = tenant
    app.config["RATE_LIMIT_WEBHOOK"] = "3/minute"
    codes = [post_zendesk(client, t.slug, creds.webhook_secret, zendesk_event()).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    assert len(log_rows(db)) == 3


def test_event_time_comes_from_the_event_and_never_passes_receive_time(client, db, tenant):
    t, creds = tenant
    payload = zendesk_event()
    payload["time"] = "2026-01-01T10:00:00Z"
    assert post_zendesk(client, t.slug, creds.webhook_secret, payload).status_code == 202
    row = log_rows(db)[0]
    assert row.event_time.replace(tzinfo=timezone.utc) == datetime(2026, 1, 1, 10, tzinfo=timezone.utc)
    future = zendesk_event()
    future["time"] = "2099-01-01T00:00:00Z"
    post_zendesk(client, t.slug, creds.webhook_secret, future)
    row = log_rows(db)[1]
    assert row.event_time <= row.received_at


def test_rotated_secret_takes_effect(client, db, tenant):
    from server.tenants import find_by_slug, rotate
    from tests.conftest import TEST_SECRET_KEY

    t, creds = tenant
    with db.session() as s:
        new = rotate(find_by_slug(s, t.slug), secret_key=TEST_SECRET_KEY, webhook_secret=True)
        s.commit()
    assert post_zendesk(client, t.slug, creds.webhook_secret, zendesk_event()).status_code == 401
    assert post_zendesk(client, t.slug, new.webhook_secret, zendesk_event()).status_code == 202


def test_signature_is_checked_against_the_raw_bytes():
    # Whitespace matters: the HMAC covers the body exactly as sent.
    assert sign("k", "t", b'{"a": 1}') != sign("k", "t", b'{"a":1}')


@pytest.mark.parametrize("text, stored", [("x\u0000y", "xy"), ("broken \ud83e emoji", "broken \ufffd emoji")])
def test_ticket_text_the_database_cannot_store_is_cleaned_and_kept(client, db, tenant, text, stored):
    """A customer's pasted NUL or half an emoji is legitimate ticket text: it used to be a 500 on
    PostgreSQL, and the ticket was lost after Zendesk's retries."""
    t, creds = tenant
    event = zendesk_event(42, "evt-\u0000nul")
    event["detail"]["subject"] = text
    trigger = {"ticket_id": "43", "description": text, "tags": [text], "score": float("nan")}
    assert post_zendesk(client, t.slug, creds.webhook_secret, event).status_code == 202
    assert post_zendesk(client, t.slug, creds.webhook_secret, trigger).status_code == 202
    first, second = log_rows(db)
    assert first.payload["detail"]["subject"] == stored and first.idempotency_key == "event:evt-nul"
    assert second.payload["description"] == stored and second.payload["tags"] == [stored]
    assert second.payload["score"] is None


@pytest.mark.parametrize("time", ["0001-01-01T00:00:00+05:00", "1970-01-01T00:00:00Z", "1989-12-31T23:59:59Z",
                                  "9999-12-31T23:59:59-23:00"])
def test_an_implausible_event_time_is_the_receive_time(client, db, tenant, time):
    t, creds = tenant
    payload = zendesk_event()
    payload["time"] = time
    resp = post_zendesk(client, t.slug, creds.webhook_secret, payload)
    assert resp.status_code == 202, resp.get_json()
    (row,) = log_rows(db)
    assert row.event_time == row.received_at


def test_trigger_delivery_is_keyed_on_its_signed_body(client, db, tenant):
    """The invocation id is outside the signature: a captured delivery sent again under another id
    (or none) is a duplicate, as is Zendesk's own retry of the invocation, even signed anew."""
    t, creds = tenant
    body = json.dumps({"ticket_id": "1234", "event": "updated", "updated_at": "2026-01-01T10:00:00Z"}).encode()
    later = (datetime.now(timezone.utc) + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r1 = post_zendesk(client, t.slug, creds.webhook_secret, body, invocation="inv-9")
    retry = post_zendesk(client, t.slug, creds.webhook_secret, body, invocation="inv-9", ts=later)
    replay = post_zendesk(client, t.slug, creds.webhook_secret, body, invocation="inv-forged")
    bare = post_zendesk(client, t.slug, creds.webhook_secret, body)
    assert (r1.status_code, r1.get_json()) == (202, {"accepted": 1, "duplicates": 0})
    assert [r.get_json() for r in (retry, replay, bare)] == [{"accepted": 0, "duplicates": 1}] * 3
    next_change = body.replace(b"10:00:00", b"10:05:00")
    assert post_zendesk(client, t.slug, creds.webhook_secret, next_change, invocation="inv-10").get_json() == \
        {"accepted": 1, "duplicates": 0}
    first, second = log_rows(db)
    assert first.kind == "zendesk.trigger" and first.idempotency_key.startswith("body:")
    assert first.payload["_delivery"]["invocation_id"] == "inv-9"


def test_deeply_nested_signed_body_is_400(client, db, tenant):
    t, creds = tenant
    for raw in (b'{"ticket_id": "1", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
                b'{"ticket_id": "1", "x": ' + b"[" * 70 + b"]" * 70 + b"}"):
        resp = post_zendesk(client, t.slug, creds.webhook_secret, raw)
        assert resp.status_code == 400
    assert log_rows(db) == []
