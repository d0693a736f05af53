"""Fixtures for the Zendesk tests: a started fake Zendesk with zenpy pointed at it, a fake clock."""

from __future__ import annotations

from typing import Iterator

import pytest

from server.zendesk.fake import FakeZendesk


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def fake_zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZendesk]:
    """A fake Zendesk on 127.0.0.1 with no tickets yet; zenpy's ZENPY_FORCE_* point at it."""
    fake = FakeZendesk().start()
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", fake.netloc)
    yield fake
    fake.stop()


@pytest.fixture
def zenpy_client(fake_zendesk: FakeZendesk):  # type: ignore[no-untyped-def]
    from server.zendesk import build_client

    return build_client("acme", email=fake_zendesk.email, token=fake_zendesk.token)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connect_tenant(db, fake_zendesk):  # type: ignore[no-untyped-def]
    """Connects a tenant to the fake Zendesk (API token, or OAuth with marketplace identity), under the
    subdomain it was created with (one tenant per Zendesk account; the fake answers for any)."""
    from datetime import datetime, timezone

    from tests.conftest import TEST_SECRET_KEY
    from server.tenants import Tenant
    from server.zendesk.connection import Marketplace, connect

    def make(tenant_id: int, *, oauth: bool = False) -> None:
        with db.session() as session:
            subdomain = session.get(Tenant, tenant_id).zendesk_subdomain or "acme"
            if oauth:
                fake_zendesk.oauth_token = "oauth-access-token"
                connect(session, tenant_id, subdomain=subdomain, oauth_token="oauth-access-token",
                        secret_key=TEST_SECRET_KEY, now=datetime.now(timezone.utc),
                        marketplace=Marketplace("Groundswell", "4242", "777"))
            else:
                connect(session, tenant_id, subdomain=subdomain, email=fake_zendesk.email, token=fake_zendesk.token,
                        secret_key=TEST_SECRET_KEY, now=datetime.now(timezone.utc))
            session.commit()

    return make
