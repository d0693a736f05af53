"""A malformed Origin or Referer on the public widget endpoints (a port out of range or not a number, an unclosed
IPv6 bracket) is refused like any origin off the allowlist: 403 with the usual error body, counted against the
caller's address by the rate limiter, and nothing logged at ERROR. It once raised ValueError inside the limiter's
key function: 500, a traceback per request, and never a 429."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import ORIGIN, widget_batch

CALLER = {"REMOTE_ADDR": "6.6.6.6"}
VISITOR = {"REMOTE_ADDR": "1.2.3.4"}
MALFORMED = [f"{ORIGIN}:99999", "https://x:abc", "http://[x"]


def call(client, site_key: str, endpoint: str, headers: dict[str, str], environ: dict[str, str]):  # type: ignore[no-untyped-def]
    headers = {"X-Groundswell-Site-Key": site_key, **headers}
    if endpoint == "events":
        return client.post("/api/v1/events", json=widget_batch(1), headers=headers, environ_base=environ)
    if endpoint == "decide":
        return client.post("/api/v1/widget/decide", json={"session_id": "s" * 16, "url": f"{ORIGIN}/billing"},
                           headers=headers, environ_base=environ)
    return client.get(f"/api/v1/widget/known-issues?url={ORIGIN}/billing", headers=headers, environ_base=environ)


@pytest.mark.parametrize("endpoint", ["events", "decide", "known-issues"])
@pytest.mark.parametrize("origin", MALFORMED)
def test_a_malformed_origin_is_refused_and_counted_per_address(app, client, db, tenant, caplog, endpoint, origin):
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "3/minute"
    caplog.set_level(logging.WARNING)
    answers = [call(client, creds.site_key, endpoint, {"Origin": origin}, CALLER) for _ in range(4)]
    assert [r.status_code for r in answers] == [403, 403, 403, 429]
    error = answers[0].get_json()["error"]
    assert error["code"] == "forbidden" and "origin is not allowed" in error["message"]
    assert answers[-1].headers.get("Retry-After")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # the caller's address ran out, not the site's bucket
    assert call(client, creds.site_key, endpoint, {"Origin": ORIGIN}, VISITOR).status_code in (200, 202)


@pytest.mark.parametrize("referer", ["http://[x/page", f"{ORIGIN}:99999/billing", "https://x:abc/"])
def test_known_issues_with_a_malformed_referer_is_refused_and_counted_per_address(app, client, db, tenant, caplog,
                                                                                  referer):
    """Browsers leave Origin out of a same-origin GET; known-issues then reads the page origin from the Referer."""
    _, creds = tenant
    app.config["RATE_LIMIT_WIDGET"] = "3/minute"
    caplog.set_level(logging.WARNING)
    codes = [call(client, creds.site_key, "known-issues", {"Referer": referer}, CALLER).status_code for _ in range(4)]
    assert codes == [403, 403, 403, 429]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert call(client, creds.site_key, "known-issues", {"Referer": f"{ORIGIN}/billing"}, VISITOR).status_code == 200
