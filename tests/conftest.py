"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so),
an app from ``create_app``, tenants with their credentials, and request builders."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import text

from server import migrate
from server.db import Base, Database
from server.ingest.signing import sign
from server.tenants import create_tenant

TEST_SECRET_KEY = "test-secret-key-0123456789"
ORIGIN = "https://app.example.com"


def _url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    if "test" not in url.rsplit("/", 1)[-1]:
        raise pytest.UsageError(f"refusing to run tests against {url!r}: the database name must contain 'test'")
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _url(tmp_path_factory)
    db = Database(url)
    import server.models  # noqa: F401

    with db.engine.begin() as conn:  # start from nothing, then build the schema with the migrations
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence"))  # offsets start at 1 again, as RESTART IDENTITY does
    yield database
    database.dispose()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": TEST_SECRET_KEY,
        "LOG_FORMAT": "text",
        "RATE_LIMIT_WIDGET": "1000/second",
        "RATE_LIMIT_WEBHOOK": "1000/second",
        "RATE_LIMIT_API": "1000/second",
    }


@pytest.fixture
def app(db: Database, app_config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from server import create_app

    application = create_app(app_config)
    yield application
    application.extensions["groundswell.db"].dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def make_tenant(db: Database) -> Callable[..., tuple[Any, Any]]:
    """Creates a tenant; returns (tenant, credentials in clear). Its Zendesk subdomain is made from its name
    (acme for the default "Acme"), one tenant per Zendesk account."""

    def make(name: str = "Acme", origins: tuple[str, ...] = (ORIGIN,)) -> tuple[Any, Any]:
        from server.tenants.service import slugify

        with db.session() as session:
            tenant, creds = create_tenant(session, name, secret_key=TEST_SECRET_KEY,
                                          zendesk_subdomain=slugify(name), origins=list(origins))
            session.commit()
            return tenant, creds

    return make


@pytest.fixture
def tenant(make_tenant):  # type: ignore[no-untyped-def]
    return make_tenant()


def now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


def widget_batch(n: int = 3, session_id: str | None = None, **extra: Any) -> dict[str, Any]:
    session_id = session_id or uuid.uuid4().hex
    ts = now_ms()
    events = [{"id": f"e{i}", "type": "click", "ts": ts - 1000 + i, "url": "https://app.example.com/billing",
               "target": "button.save"} for i in range(n)]
    return {"session_id": session_id, "sent_at": ts, "events": events, **extra}


def post_widget(client: Any, site_key: str, body: Any, origin: str | None = ORIGIN, **kw: Any) -> Any:
    headers = {"X-Groundswell-Site-Key": site_key}
    if origin:
        headers["Origin"] = origin
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/api/v1/events", data=data, headers=headers, content_type="application/json", **kw)


def zendesk_event(ticket_id: int = 42, event_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "zen:event-type:ticket.created", "account_id": 22129848, "id": event_id or str(uuid.uuid4()),
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket_id}",
        "detail": {"id": str(ticket_id), "subject": "Invoice PDF is blank", "description": "Every page is empty.",
                   "status": "NEW", "priority": "NORMAL", "type": "QUESTION", "tags": ["billing"],
                   "requester_id": "123", "created_at": "2026-01-01T00:00:00Z", "via": {"channel": "web_form"}},
        "event": {},
    }


def signed_headers(secret: str, body: bytes, ts: str | None = None, invocation: str | None = None) -> dict[str, str]:
    ts = ts or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"X-Zendesk-Webhook-Signature-Timestamp": ts, "X-Zendesk-Webhook-Signature": sign(secret, ts, body),
               "Content-Type": "application/json"}
    if invocation:
        headers["X-Zendesk-Webhook-Invocation-Id"] = invocation
    return headers


def post_zendesk(client: Any, slug: str, secret: str, payload: Any, **kw: Any) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(f"/webhooks/zendesk/{slug}", data=body, headers=signed_headers(secret, body, **kw))


def log_rows(db: Database, tenant_id: int | None = None) -> list[Any]:
    from sqlalchemy import select

    from server.eventlog import Event

    with db.session() as s:
        q = select(Event).order_by(Event.offset)
        if tenant_id is not None:
            q = q.where(Event.tenant_id == tenant_id)
        return list(s.scalars(q))
