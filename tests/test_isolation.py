"""One tenant's credentials can neither write to nor read another tenant's data."""

from __future__ import annotations

from server.pipeline import Runner
from server.eventlog import SqlEventLog
from tests.conftest import log_rows, post_widget, post_zendesk, widget_batch, zendesk_event


def test_webhook_signed_with_another_tenants_secret_is_refused(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, _ = make_tenant("Beta")
    resp = post_zendesk(client, b.slug, a_creds.webhook_secret, zendesk_event())
    assert resp.status_code == 401
    assert log_rows(db) == []


def test_site_key_writes_only_to_its_own_tenant(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha", origins=("https://a.example",))
    b, _ = make_tenant("Beta", origins=("https://b.example",))
    # A's key from B's origin is refused; the body cannot redirect the write to B either.
    assert post_widget(client, a_creds.site_key, widget_batch(1), origin="https://b.example").status_code == 403
    resp = post_widget(client, a_creds.site_key, widget_batch(1, tenant_id=b.id), origin="https://a.example")
    assert resp.status_code == 400  # unknown field
    assert post_widget(client, a_creds.site_key, widget_batch(2), origin="https://a.example").status_code == 202
    assert {r.tenant_id for r in log_rows(db)} == {a.id}


def test_same_idempotency_key_in_two_tenants_is_two_events(client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, b_creds = make_tenant("Beta")
    batch = widget_batch(2, session_id="shared")
    assert post_widget(client, a_creds.site_key, batch).get_json()["accepted"] == 2
    assert post_widget(client, b_creds.site_key, batch).get_json()["accepted"] == 2
    assert len(log_rows(db, a.id)) == len(log_rows(db, b.id)) == 2


def test_status_shows_only_the_tokens_tenant(app, client, db, make_tenant):
    a, a_creds = make_tenant("Alpha")
    b, b_creds = make_tenant("Beta")
    post_widget(client, a_creds.site_key, widget_batch(3))
    post_widget(client, b_creds.site_key, widget_batch(5))
    post_zendesk(client, b.slug, b_creds.webhook_secret, zendesk_event())
    Runner(app.extensions["groundswell.db"], SqlEventLog()).run_until_idle()
    body_a = client.get("/api/v1/status", headers={"Authorization": f"Bearer {a_creds.api_token}"}).get_json()
    body_b = client.get("/api/v1/status", headers={"Authorization": f"Bearer {b_creds.api_token}"}).get_json()
    assert body_a["tenant"]["slug"] == a.slug and body_b["tenant"]["slug"] == b.slug
    assert [(s["source"], s["total"]) for s in body_a["sources"]] == [("widget", 3)]
    assert [(s["source"], s["total"]) for s in body_b["sources"]] == [("widget", 5), ("zendesk", 1)]
    assert body_a["detector"]["head_offset"] < body_b["detector"]["head_offset"]


def test_status_without_a_valid_token_is_401(client, db, tenant):
    _, creds = tenant
    assert client.get("/api/v1/status").status_code == 401
    assert client.get("/api/v1/status", headers={"Authorization": "Bearer gs_sk_forged"}).status_code == 401
    # The public site key is not an API token.
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {creds.site_key}"}).status_code == 401
