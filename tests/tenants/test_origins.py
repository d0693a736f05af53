"""An allowed origin with a port out of range or not a number, or an unclosed IPv6 bracket, is refused as a
TenantError like any other malformed origin; the admin CLI shows it as its usual one-line error."""

from __future__ import annotations

import pytest

from server.tenants.service import TenantError, normalize_origin
from tests.conftest import post_widget, widget_batch
from tests.test_cli import cli_env, run

MALFORMED = ["https://app.example.com:443000", "https://app.example.com:99999", "https://x:abc", "http://[x",
             "https://x:-1"]


@pytest.mark.parametrize("origin", MALFORMED)
def test_a_malformed_origin_is_a_tenant_error(origin):
    with pytest.raises(TenantError, match="is not an origin like"):
        normalize_origin(origin)


def test_the_cli_refuses_a_malformed_origin_in_one_line(db, database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    created = run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme", "--origin",
                   "https://app.example.com:443000"], env)
    assert created.exit_code == 1
    assert created.output.strip().splitlines() == [
        "Error: 'https://app.example.com:443000' is not an origin like https://app.example.com"]
    assert run(["tenant", "create", "Acme", "--zendesk-subdomain", "acme"], env).exit_code == 0
    added = run(["tenant", "origins", "acme", "--add", "http://[x"], env)
    assert added.exit_code == 1
    assert added.output.strip().splitlines() == ["Error: 'http://[x' is not an origin like https://app.example.com"]
    assert run(["tenant", "origins", "acme"], env).output.strip() == "(no origins allowed)"


def test_a_default_port_and_an_ipv6_address_are_stored_as_a_browser_sends_them(client, db, make_tenant):
    _, creds = make_tenant(origins=("https://app.example.com:443", "http://[::1]:8080"))
    with db.session() as s:
        from server.tenants import Tenant

        assert s.query(Tenant).one().allowed_origins == ["http://[::1]:8080", "https://app.example.com"]
    for origin in ("https://app.example.com", "http://[::1]:8080"):
        assert post_widget(client, creds.site_key, widget_batch(1), origin=origin).status_code == 202


def test_origins_stored_by_earlier_builds_still_match_and_can_be_removed(client, db, make_tenant, database_url,
                                                                          tmp_path):
    t, creds = make_tenant(origins=())
    with db.session() as s:  # as builds before brackets and default ports stored them
        from server.tenants import Tenant

        s.get(Tenant, t.id).allowed_origins = ["http://::1:8080", "https://app.example.com:443"]
        s.commit()
    assert post_widget(client, creds.site_key, widget_batch(1), origin="http://[::1]:8080").status_code == 202
    assert post_widget(client, creds.site_key, widget_batch(1), origin="https://app.example.com").status_code == 202
    assert post_widget(client, creds.site_key, widget_batch(1), origin="https://app.example.com:8443").status_code == 403
    removed = run(["tenant", "origins", "acme", "--remove", "http://[::1]:8080", "--remove", "https://app.example.com"],
                  cli_env(database_url, tmp_path))
    assert removed.output.strip() == "(no origins allowed)"
    assert post_widget(client, creds.site_key, widget_batch(1), origin="http://[::1]:8080").status_code == 403
