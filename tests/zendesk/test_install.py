"""Connecting a tenant to Zendesk: connection, webhook and its secret, triggers, backfill; idempotent."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from server.cli import main
from server.tenants import Tenant, webhook_secret
from server.zendesk.client import ZendeskError
from server.zendesk.connection import ConnectionInvalid, Marketplace, decrypt
from server.zendesk.fake import make_tickets
from server.zendesk.install import TRIGGERS, install
from server.zendesk.models import ZendeskConnection
from tests.conftest import TEST_SECRET_KEY, log_rows


def _install(db, tenant, fake, **kw):  # type: ignore[no-untyped-def]
    args = {"email": fake.email, "token": fake.token, **kw}
    with db.session() as s:
        t = s.get(Tenant, tenant.id)
        return install(s, t, subdomain="acme", public_url="https://gs.example.com/", secret_key=TEST_SECRET_KEY,
                       now=datetime.now(timezone.utc), **args)


def test_install_creates_the_webhook_and_triggers_once(db, tenant, fake_zendesk):
    t, _ = tenant
    first = _install(db, t, fake_zendesk)
    assert first.webhook_created and first.triggers_created == 2 and first.sidebar_secret
    [hook] = fake_zendesk.webhooks.values()
    assert hook["endpoint"] == "https://gs.example.com/webhooks/zendesk/acme"
    assert hook["subscriptions"] == ["conditional_ticket_events"] and hook["status"] == "active"
    assert sorted(tr["title"] for tr in fake_zendesk.triggers) == sorted(title for title, _, _ in TRIGGERS)
    for trigger in fake_zendesk.triggers:
        [action] = trigger["actions"]
        assert action["field"] == "notification_webhook" and action["value"][0] == hook["id"]
        assert json.loads(action["value"][1])["ticket_id"] == "{{ticket.id}}"
    with db.session() as s:
        stored = s.get(Tenant, t.id)
        assert webhook_secret(stored, secret_key=TEST_SECRET_KEY) == fake_zendesk.webhook_secrets[hook["id"]]
        conn = s.get(ZendeskConnection, t.id)
        assert conn.webhook_id == hook["id"] and conn.trigger_ids == first.trigger_ids
        assert conn.auth == "api_token" and fake_zendesk.token not in conn.credential_enc
        assert decrypt(TEST_SECRET_KEY, conn.credential_enc) == fake_zendesk.token

    again = _install(db, t, fake_zendesk)
    assert not again.webhook_created and again.triggers_created == 0 and again.sidebar_secret is None
    assert again.webhook_id == first.webhook_id and again.trigger_ids == first.trigger_ids
    assert len(fake_zendesk.webhooks) == 1 and len(fake_zendesk.triggers) == 2


def test_connecting_again_brings_an_older_triggers_body_up_to_date(db, tenant, fake_zendesk):
    t, _ = tenant
    first = _install(db, t, fake_zendesk)
    created = next(tr for tr in fake_zendesk.triggers if tr["title"] == TRIGGERS[0][0])
    old = {k: v for k, v in json.loads(created["actions"][0]["value"][1]).items() if k != "organization_name"}
    created["actions"][0]["value"][1] = json.dumps(old)  # as an earlier version installed it
    again = _install(db, t, fake_zendesk)
    assert again.triggers_created == 0 and again.triggers_updated == 1 and again.trigger_ids == first.trigger_ids
    assert len(fake_zendesk.triggers) == 2
    body = json.loads(created["actions"][0]["value"][1])
    assert body["organization_name"] == "{{ticket.organization.name}}" and body["ticket_id"] == "{{ticket.id}}"
    assert created["actions"][0]["value"][0] == first.webhook_id and created["title"] == TRIGGERS[0][0]
    [put] = [r for r in fake_zendesk.requests if r.method == "PUT" and "/triggers/" in r.path]
    assert put.path == f"/api/v2/triggers/{created['id']}.json"
    assert _install(db, t, fake_zendesk).triggers_updated == 0  # up to date: nothing to send


def test_install_finds_its_webhook_when_the_database_forgot_it(db, tenant, fake_zendesk):
    t, _ = tenant
    first = _install(db, t, fake_zendesk)
    with db.session() as s:
        s.delete(s.get(ZendeskConnection, t.id))
        s.commit()
    again = _install(db, t, fake_zendesk)
    assert again.webhook_id == first.webhook_id and not again.webhook_created and again.triggers_created == 0


def test_oauth_install_needs_the_marketplace_identity_and_sends_it(db, tenant, fake_zendesk):
    t, _ = tenant
    fake_zendesk.oauth_token = "oauth-abc"
    with pytest.raises(ConnectionInvalid, match="marketplace"):
        _install(db, t, fake_zendesk, email=None, token=None, oauth_token="oauth-abc")
    _install(db, t, fake_zendesk, email=None, token=None, oauth_token="oauth-abc",
             marketplace=Marketplace("Groundswell", "11", "22"))
    assert fake_zendesk.requests and all(r.auth == "oauth" and len(r.marketplace) == 3 for r in fake_zendesk.requests)


@pytest.mark.parametrize("change, message", [("token", "HTTP 401"), ("role", "not an admin")])
def test_bad_credentials_or_a_non_admin_store_nothing(db, tenant, fake_zendesk, change, message):
    t, _ = tenant
    if change == "role":
        fake_zendesk.user_role = "agent"
    with pytest.raises(ZendeskError, match=message):
        _install(db, t, fake_zendesk, token="wrong" if change == "token" else fake_zendesk.token)
    with db.session() as s:
        assert s.get(ZendeskConnection, t.id) is None
    assert fake_zendesk.webhooks == {}


def test_install_command_connects_and_backfills(db, database_url, tmp_path, tenant, fake_zendesk):
    t, _ = tenant
    fake_zendesk.tickets = make_tickets(4)
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET_KEY,
           "LOG_FORMAT": "text", "PUBLIC_URL": "https://gs.example.com", "ZENDESK_EMAIL": None,
           "ZENDESK_API_TOKEN": None, "ZENDESK_OAUTH_TOKEN": None}
    args = ["zendesk", "install", "--tenant", t.slug, "--subdomain", "acme", "--email", fake_zendesk.email,
            "--token", fake_zendesk.token, "--since", "2025-12-01", "--json"]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert out["webhook_created"] and out["triggers_created"] == 2 and out["backfill"]["new_events"] == 4
    assert len(log_rows(db, t.id)) == 4
    second = json.loads(CliRunner().invoke(main, args, env=env).stdout)
    assert not second["webhook_created"] and second["triggers_created"] == 0 and second["sidebar_secret"] is None
    assert second["backfill"]["new_events"] == 0 and len(log_rows(db, t.id)) == 4
    status = CliRunner().invoke(main, ["zendesk", "status", "--tenant", t.slug], env=env)
    assert status.exit_code == 0 and '"connected": true' in status.stdout and fake_zendesk.token not in status.stdout


def test_install_command_needs_a_public_url(db, database_url, tmp_path, tenant):
    t, _ = tenant
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET_KEY,
           "LOG_FORMAT": "text", "PUBLIC_URL": ""}
    result = CliRunner().invoke(main, ["zendesk", "install", "--tenant", t.slug, "--subdomain", "acme",
                                       "--email", "a@b.c", "--token", "x"], env=env)
    assert result.exit_code != 0 and "PUBLIC_URL" in result.output


def test_install_command_refuses_an_account_another_tenant_has(db, database_url, tmp_path, make_tenant,
                                                               fake_zendesk):
    make_tenant("Acme")
    billing, _ = make_tenant("Acme Billing")
    env = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET_KEY,
           "LOG_FORMAT": "text", "PUBLIC_URL": "https://gs.example.com", "ZENDESK_EMAIL": None,
           "ZENDESK_API_TOKEN": None, "ZENDESK_OAUTH_TOKEN": None}
    result = CliRunner().invoke(main, ["zendesk", "install", "--tenant", billing.slug, "--subdomain", "acme",
                                       "--email", fake_zendesk.email, "--token", fake_zendesk.token], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: tenant 'acme' already has the Zendesk subdomain 'acme': one tenant per "
                                     "Zendesk account (`groundswell tenant list` shows them)")
    with db.session() as s:
        assert s.get(ZendeskConnection, billing.id) is None
    assert fake_zendesk.webhooks == {}  # refused before anything was made in Zendesk
