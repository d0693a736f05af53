"""Known issues for a same-origin page: browsers send no Origin on same-origin GETs, so the Referer's
origin is checked against the allowlist instead (server/ingest/views.py ``_request_origin``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import ORIGIN


def test_referer_origin_stands_in_for_a_missing_origin(client: Any, tenant: Any) -> None:
    _, creds = tenant
    url = f"/api/v1/widget/known-issues?site_key={creds.site_key}&url={ORIGIN}/billing"
    assert client.get(url, headers={"Referer": f"{ORIGIN}/billing?x=1"}).status_code == 200
    assert client.get(url, headers={"Referer": "https://evil.example.net/billing"}).status_code == 403
    assert client.get(url, headers={"Referer": "not a url"}).status_code == 403
    assert client.get(url).status_code == 403
    # an Origin header, when present, is what counts
    assert client.get(url, headers={"Origin": "https://evil.example.net", "Referer": f"{ORIGIN}/"}).status_code == 403
