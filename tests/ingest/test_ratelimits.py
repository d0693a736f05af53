"""Ingest rate limits: only requests that pass authentication count against a tenant's bucket; the
others count against the caller's address (server/ingest/views.py `_site_key`, `_tenant_slug`)."""

from __future__ import annotations

import json

import pytest

from server.ingest.views import _site_key
from tests.conftest import ORIGIN, post_widget, signed_headers, widget_batch, zendesk_event

ATTACKER = {"REMOTE_ADDR": "6.6.6.6"}
CUSTOMER = {"REMOTE_ADDR": "1.2.3.4"}
DEEP = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize("site_key, origin, body", [
    ("victim", "https://evil.example", "x"),          # the victim's public key, a forged-off origin
    ("victim", "https://evil.example", None),         # the same with a valid batch
    ("victim", None, None),                           # no origin at all
    ("gs_pk_unknown", ORIGIN, None),                  # an unknown key
    ("", ORIGIN, None),                               # no key
])
def test_failed_widget_requests_cannot_use_up_the_sites_limit(app, client, db, tenant, site_key, origin, body):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "5/minute"
    key = creds.site_key if site_key == "victim" else site_key
    flood = [post_widget(client, key, body if body is not None else widget_batch(1), origin=origin,
                         environ_base=ATTACKER).status_code for _ in range(6)]
    assert flood[-1] == 429 and 429 not in flood[:5]  # the attacker's address ran out...
    genuine = post_widget(client, creds.site_key, widget_batch(1), environ_base=CUSTOMER)
    assert genuine.status_code == 202  # ...the site's bucket did not
    assert post_widget(client, creds.site_key, widget_batch(1), environ_base=ATTACKER).status_code == 202


def test_accepted_widget_batches_still_count_per_site_from_every_address(app, client, db, tenant):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "3/minute"
    codes = [post_widget(client, creds.site_key, widget_batch(1), environ_base={"REMOTE_ADDR": f"1.2.3.{i}"})
             .status_code for i in range(4)]
    assert codes == [202, 202, 202, 429]


@pytest.mark.parametrize("path, method", [("/api/v1/widget/decide", "POST"), ("/api/v1/widget/known-issues", "GET")])
def test_the_widgets_other_endpoints_count_failures_per_address_too(app, client, db, tenant, path, method):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "3/minute"

    def call(origin: str, environ: dict[str, str]) -> int:
        headers = {"X-Groundswell-Site-Key": creds.site_key, "Origin": origin}
        if method == "GET":
            return client.get(f"{path}?url={ORIGIN}/billing", headers=headers, environ_base=environ).status_code
        body = {"session_id": "s" * 16, "url": f"{ORIGIN}/billing"}
        return client.post(path, json=body, headers=headers, environ_base=environ).status_code

    assert [call("https://evil.example", ATTACKER) for _ in range(4)] == [403, 403, 403, 429]
    assert call(ORIGIN, CUSTOMER) == 200


def test_known_issues_from_a_same_origin_page_count_against_the_site(app, client, db, tenant):
    """Browsers send no Origin on a same-origin GET: the Referer's origin stands in, as in the view."""
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "2/minute"
    codes = [client.get(f"/api/v1/widget/known-issues?url={ORIGIN}/billing",
                        headers={"X-Groundswell-Site-Key": creds.site_key, "Referer": f"{ORIGIN}/billing"},
                        environ_base={"REMOTE_ADDR": f"1.2.3.{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_the_widget_key_of_a_deeply_nested_body_is_the_callers_address(app):
    """ "[[[[..." deeper than the interpreter's stack once made the key function raise RecursionError
    (500 before the view ran); the view's own parse answers 400 (server/ingest/service.py parse_json)."""
    with app.test_request_context("/api/v1/events", method="POST", data=DEEP, content_type="application/json",
                                  environ_base=ATTACKER):
        assert _site_key() == "addr:6.6.6.6"


@pytest.mark.parametrize("attack", ["unsigned", "wrong secret", "stale", "unknown tenant"])
def test_failed_zendesk_deliveries_cannot_use_up_the_tenants_limit(app, client, db, tenant, attack):
    t, creds = tenant
    app.config["RATE_LIMIT_WEBHOOK"] = "5/minute"
    body = json.dumps(zendesk_event()).encode()
    slug = "nobody" if attack == "unknown tenant" else t.slug
    headers = {"unsigned": {}, "unknown tenant": {},
               "wrong secret": signed_headers("d3Jvbmc=", body),
               "stale": signed_headers(creds.webhook_secret, body, ts="2020-01-01T00:00:00Z")}[attack]
    flood = [client.post(f"/webhooks/zendesk/{slug}", data=body, headers=headers, environ_base=ATTACKER).status_code
             for _ in range(6)]
    assert flood[-1] == 429 and 429 not in flood[:5]
    assert _deliver(client, t.slug, creds.webhook_secret, zendesk_event(), CUSTOMER) == 202


def test_signed_deliveries_still_count_per_tenant_and_oversized_ones_per_address(app, client, db, tenant):
    t, creds = tenant
    app.config["RATE_LIMIT_WEBHOOK"] = "2/minute"
    big = zendesk_event()
    big["detail"]["description"] = "x" * 300_000
    assert [_deliver(client, t.slug, creds.webhook_secret, big, ATTACKER) for _ in range(3)] == [413, 413, 429]
    codes = [_deliver(client, t.slug, creds.webhook_secret, zendesk_event(), {"REMOTE_ADDR": f"1.2.3.{i}"})
             for i in range(3)]
    assert codes == [202, 202, 429]


def _deliver(client, slug: str, secret: str, payload: dict, environ: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    return int(client.post(f"/webhooks/zendesk/{slug}", data=body, headers=signed_headers(secret, body),
                           environ_base=environ).status_code)


# -- one authentication a request ----------------------------------------------------------------------
# The key functions above authenticate the request; the view uses the tenant they found instead of looking
# it up and verifying again, when the view would authenticate by the same key and origin.

def _tenant_lookups(app, send) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    engine = app.extensions["groundswell.db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM tenants" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("endpoint", ["events", "events (key in the body)", "decide", "known-issues", "zendesk"])
def test_a_request_looks_its_tenant_up_once(app, client, db, tenant, endpoint):
    t, creds = tenant
    headers = {"X-Groundswell-Site-Key": creds.site_key, "Origin": ORIGIN}
    codes: list[int] = []

    def send() -> None:
        if endpoint == "events":
            codes.append(post_widget(client, creds.site_key, widget_batch(5)).status_code)
        elif endpoint == "events (key in the body)":
            codes.append(client.post("/api/v1/events", data=json.dumps(dict(widget_batch(5), site_key=creds.site_key)),
                                     headers={"Origin": ORIGIN}, content_type="text/plain").status_code)
        elif endpoint == "decide":
            codes.append(client.post("/api/v1/widget/decide", headers=headers,
                                     json={"session_id": "s" * 16, "url": f"{ORIGIN}/billing"}).status_code)
        elif endpoint == "known-issues":
            codes.append(client.get(f"/api/v1/widget/known-issues?url={ORIGIN}/billing", headers=headers).status_code)
        else:
            codes.append(_deliver(client, t.slug, creds.webhook_secret, zendesk_event(), CUSTOMER))

    assert _tenant_lookups(app, send) == 1
    assert codes[0] in (200, 202)


def test_decide_still_takes_its_key_from_the_header_or_body_only(app, client, db, tenant):
    """The limiter's key function also reads ?site_key=; decide does not, and the tenant found by it is not
    used for a request decide would not authenticate."""
    _, creds = tenant
    r = client.post(f"/api/v1/widget/decide?site_key={creds.site_key}", headers={"Origin": ORIGIN},
                    json={"session_id": "s" * 16, "url": f"{ORIGIN}/billing"})
    assert r.status_code == 403 and "Missing site key" in r.get_json()["error"]["message"]


def test_a_delivery_to_a_slug_longer_than_any_is_refused_not_cut_to_a_tenants(client, db, make_tenant):
    """The rate limiter's key function never cuts the URL's slug down to a tenant's: the view would take the tenant
    it found, and accept a delivery sent to another address."""
    t, creds = make_tenant("Acme " + "x" * 70)  # the longest slug there is
    assert len(t.slug) == 63
    assert _deliver(client, t.slug + "junk", creds.webhook_secret, zendesk_event(), CUSTOMER) == 403
    assert _deliver(client, t.slug, creds.webhook_secret, zendesk_event(), CUSTOMER) == 202
