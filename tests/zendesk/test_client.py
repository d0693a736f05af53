from __future__ import annotations

import pytest

from server.zendesk import ZendeskError, build_client
from server.zendesk.backfill import fetch_page
from server.zendesk.fake import make_tickets


def test_client_has_the_cache_disabled_and_reaches_the_fake_through_zenpy_env(fake_zendesk, zenpy_client):
    assert zenpy_client.cache.disabled is True
    fake_zendesk.tickets = make_tickets(2)
    page = fetch_page(zenpy_client, start_time=0)
    assert [t["id"] for t in page.tickets] == [1, 2] and page.end_of_stream
    assert len(fake_zendesk.export_requests) == 1  # ZENPY_FORCE_SCHEME/NETLOC sent it to 127.0.0.1


def test_cursors_with_plus_and_slash_survive_the_round_trip(fake_zendesk, zenpy_client):
    fake_zendesk.tickets = make_tickets(3)
    fake_zendesk.default_per_page = 1
    first = fetch_page(zenpy_client, start_time=0, per_page=1)
    assert first.after_cursor.startswith("+/")
    second = fetch_page(zenpy_client, cursor=first.after_cursor)
    assert [t["id"] for t in second.tickets] == [2]
    assert fake_zendesk.export_requests[1].args == {"cursor": first.after_cursor, "include": "organizations"}


@pytest.mark.parametrize("kwargs, message", [
    ({}, "no Zendesk credentials"),
    ({"token": "t"}, "needs the email"),
    ({"email": "a@b.c", "token": "t", "oauth_token": "o"}, "not both"),
])
def test_bad_credentials_are_refused_before_any_request(kwargs, message):
    with pytest.raises(ZendeskError, match=message):
        build_client("acme", **kwargs)


def test_unreachable_zendesk_is_a_zendesk_error(monkeypatch):
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "127.0.0.1:9")  # discard port: nothing listens
    zd = build_client("acme", email="a@b.c", token="t", timeout=2)
    with pytest.raises(ZendeskError, match="cannot reach Zendesk"):
        fetch_page(zd, start_time=0)
