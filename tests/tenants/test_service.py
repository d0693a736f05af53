from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from server.tenants import Tenant, authenticate_token, create_tenant, find_by_site_key, rotate, webhook_secret
from server.tenants.service import TenantError, token_sha256
from tests.conftest import TEST_SECRET_KEY


def test_secrets_are_not_stored_in_clear(db):
    with db.session() as s:
        t, creds = create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        s.commit()
        row = s.scalar(select(Tenant))
        stored = " ".join(str(v) for v in (row.webhook_secret_enc, row.api_token_sha256, row.site_key))
        assert creds.api_token not in stored and creds.webhook_secret not in stored
        assert row.api_token_sha256 == token_sha256(creds.api_token)
        assert webhook_secret(row, secret_key=TEST_SECRET_KEY) == creds.webhook_secret
        assert row.site_key == creds.site_key  # public by design


def test_webhook_secret_needs_the_same_secret_key(db):
    with db.session() as s:
        t, _ = create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            webhook_secret(t, secret_key="another key")


def test_token_and_site_key_lookup(db):
    with db.session() as s:
        t, creds = create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        s.commit()
        assert authenticate_token(s, creds.api_token).id == t.id
        assert authenticate_token(s, creds.api_token + "x") is None
        assert authenticate_token(s, "not-a-token") is None
        assert find_by_site_key(s, creds.site_key).id == t.id
        assert find_by_site_key(s, creds.api_token) is None


def test_rotating_the_token_revokes_the_old_one(db):
    with db.session() as s:
        t, creds = create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        new = rotate(t, secret_key=TEST_SECRET_KEY, api_token=True)
        s.commit()
        assert authenticate_token(s, creds.api_token) is None
        assert authenticate_token(s, new.api_token).id == t.id
        assert new.webhook_secret is None and new.site_key is None


@pytest.mark.parametrize("name, kwargs, message", [
    ("!!!", {}, "slug"),
    ("Acme", {"zendesk_subdomain": "bad sub"}, "subdomain"),
    ("Acme", {"zendesk_subdomain": "acme\n"}, "subdomain"),  # a pattern's $ must not pass a final newline
    ("Acme", {"slug": "acme\n"}, "slug"),
    ("Acme", {"origins": ["ftp://x"]}, "origin"),
    ("Acme", {"origins": ["https://x.io/path"]}, "origin"),
])
def test_invalid_tenants_are_refused(db, name, kwargs, message):
    kwargs.setdefault("zendesk_subdomain", "acme")
    with db.session() as s, pytest.raises(TenantError, match=message):
        create_tenant(s, name, secret_key=TEST_SECRET_KEY, **kwargs)


def test_duplicate_slug_is_refused(db):
    with db.session() as s:
        create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        s.commit()
        with pytest.raises(TenantError, match="already exists"):
            create_tenant(s, "ACME", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme2")


def test_one_tenant_per_zendesk_account_whichever_way_it_is_created_or_connected(db):
    from server.tenants.service import SubdomainTaken
    from server.zendesk.connection import ConnectionInvalid, connect

    now = datetime.now(timezone.utc)
    with db.session() as s:
        acme, _ = create_tenant(s, "Acme", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        s.commit()
        with pytest.raises(SubdomainTaken) as taken:
            create_tenant(s, "Acme Billing", secret_key=TEST_SECRET_KEY, zendesk_subdomain="acme")
        assert str(taken.value) == ("tenant 'acme' already has the Zendesk subdomain 'acme': one tenant per Zendesk "
                                    "account (`groundswell tenant list` shows them)")
        other, _ = create_tenant(s, "Other", secret_key=TEST_SECRET_KEY)  # no account named yet
        s.commit()
        with pytest.raises(ConnectionInvalid, match="tenant 'acme' already has the Zendesk subdomain 'acme'"):
            connect(s, other.id, subdomain=" ACME ", secret_key=TEST_SECRET_KEY, now=now, email="a@b.c", token="t")
        connect(s, acme.id, subdomain="acme", secret_key=TEST_SECRET_KEY, now=now, email="a@b.c", token="t")
        connect(s, other.id, subdomain="other-account", secret_key=TEST_SECRET_KEY, now=now, email="a@b.c", token="t")
        s.commit()
        # a subdomain a tenant is connected to is taken too, though the tenant was created without it
        with pytest.raises(SubdomainTaken, match="tenant 'other' already has the Zendesk subdomain 'other-account'"):
            create_tenant(s, "Late", secret_key=TEST_SECRET_KEY, zendesk_subdomain="other-account")
        assert s.scalar(select(func.count()).select_from(Tenant)) == 2
