"""Widget settings' links (a nudge's or known issue's `link_url`, `status_page_url`): a URL that cannot
even be split into its parts is a 400 naming the field, like any other refused link, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from server.widget.schemas import WidgetSettingsSchema

NUDGE = {"id": "pay", "match": "/billing*", "title": "Trouble paying?", "body": "Try a card."}
ISSUE = {"id": "slow", "match": "/billing*", "message": "Card payments are slow."}
MESSAGE = "must be an http(s) URL or a path starting with /"
MALFORMED = ["http://[x/", "https://[::1", "http://[zz]/help"]


def auth(creds: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_token}"}


def placed(where: str, url: str) -> tuple[dict[str, Any], Any]:
    """A settings body with ``url`` in one link field, and where ``error.fields`` names that field."""
    if where == "nudge":
        return {"nudges": [{**NUDGE, "link_url": url}]}, ["nudges", "0", "link_url"]
    if where == "known issue":
        return {"known_issues": [{**ISSUE, "link_url": url}]}, ["known_issues", "0", "link_url"]
    return {"status_page_url": url}, ["status_page_url"]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("where", ["nudge", "known issue", "status page"])
def test_a_malformed_link_is_a_400_naming_the_field(client, tenant, where, url):
    _, creds = tenant
    stored = client.put("/api/v1/settings/widget", headers=auth(creds),
                        json={"nudges": [NUDGE], "status_page_url": "https://status.example.com"})
    assert stored.status_code == 200
    body, path = placed(where, url)
    r = client.put("/api/v1/settings/widget", json=body, headers=auth(creds))
    assert r.status_code == 400, r.get_data(as_text=True)
    fields = r.get_json()["error"]["fields"]
    for key in path:
        fields = fields[key]
    assert fields == [MESSAGE]
    assert client.get("/api/v1/settings/widget", headers=auth(creds)).get_json() == stored.get_json()


@pytest.mark.parametrize("url", MALFORMED)
def test_the_schema_refuses_a_malformed_link_as_a_validation_error(url):
    errors = WidgetSettingsSchema().validate({"status_page_url": url, "known_issues": [{**ISSUE, "link_url": url}]})
    assert errors == {"status_page_url": [MESSAGE], "known_issues": {0: {"link_url": [MESSAGE]}}}
