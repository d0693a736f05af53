from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import server.models  # noqa: F401
from server.db import Base


def test_migrations_match_the_models(db):
    """The migrated schema (built by the session fixture with `alembic upgrade head`) equals the models."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(db):
    if db.dialect != "sqlite":
        pytest.skip("SQLite pragmas only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_webhooks_on_every_event_also_get_acknowledged(tmp_path):
    """0013: an endpoint that took the default (every event) gets the new `acknowledged` event; one that
    chose its events keeps its choice; downgrading takes it away again."""
    import sqlalchemy as sa

    from server.db import Database
    from server.migrate import downgrade, upgrade

    db = Database("sqlite:///" + str(tmp_path / "m.db"))
    upgrade(db, "0012_pagerduty_inbound")
    meta = sa.MetaData()
    with db.engine.begin() as conn:
        tenants = sa.Table("tenants", meta, autoload_with=conn)
        endpoints = sa.Table("webhook_endpoints", meta, autoload_with=conn)
        conn.execute(tenants.insert().values(id=1, slug="t", name="T", webhook_secret_enc="x", site_key="k",
                                             api_token_sha256="h", allowed_origins=[], settings={},
                                             created_at=sa.func.now()))
        for id_, events in ((1, ["opened", "grew", "resolved", "reopened"]), (2, ["opened", "resolved"])):
            conn.execute(endpoints.insert().values(id=id_, tenant_id=1, format="pagerduty", secret_enc="s",
                                                   secret_hint="abcd", events=events, created_at=sa.func.now()))

    def events() -> dict[int, list[str]]:
        with db.engine.connect() as conn:
            return {r.id: r.events for r in conn.execute(sa.select(endpoints.c.id, endpoints.c.events))}

    upgrade(db)
    assert events() == {1: ["opened", "grew", "acknowledged", "resolved", "reopened"], 2: ["opened", "resolved"]}
    with db.engine.begin() as conn:  # an acknowledgement sent, another waiting, and a resolution waiting
        notes = sa.Table("notifications", meta, autoload_with=conn)
        deliveries = sa.Table("webhook_deliveries", meta, autoload_with=conn)
        for seq, event, sent in ((1, "acknowledged", True), (2, "acknowledged", False), (3, "resolved", False)):
            conn.execute(notes.insert().values(tenant_id=1, incident_id=7, seq=seq, event=event, payload={},
                                               created_at=sa.func.now(), attempts=0,
                                               sent_at=sa.func.now() if sent else None))
            conn.execute(deliveries.insert().values(endpoint_id=1, incident_id=7, seq=seq, tenant_id=1, event=event,
                                                    created_at=sa.func.now(), attempts=0,
                                                    sent_at=sa.func.now() if sent else None))
    downgrade(db, "0012_pagerduty_inbound")
    assert events() == {1: ["opened", "grew", "resolved", "reopened"], 2: ["opened", "resolved"]}
    with db.engine.connect() as conn:  # older code cannot send the waiting acknowledgement: closed, not held
        for table in (notes, deliveries):
            rows = conn.execute(sa.select(table.c.seq, table.c.sent_at.is_not(None), table.c.last_error)
                                .order_by(table.c.seq)).all()
            assert [tuple(r) for r in rows] == [(1, True, None), (2, True, "not sent: downgraded"), (3, False, None)]
    db.engine.dispose()


def test_ids_are_never_reused_on_sqlite_and_the_rebuild_keeps_every_row(tmp_path):
    """0017 rebuilds tenants and events with AUTOINCREMENT: the rows that refer to the tenants stay (the
    rebuild drops the old tables, which with foreign keys on would cascade), and a deleted tenant's id, or a
    deleted event's offset, is not given again."""
    import sqlalchemy as sa

    from server.db import Database
    from server.migrate import downgrade, upgrade

    db = Database("sqlite:///" + str(tmp_path / "m.db"))
    upgrade(db, "0016_detector_dead_letters")
    meta = sa.MetaData()
    with db.engine.begin() as conn:
        tenants = sa.Table("tenants", meta, autoload_with=conn)
        events = sa.Table("events", meta, autoload_with=conn)
        topics = sa.Table("topics", meta, autoload_with=conn)
        for i in (1, 2):
            conn.execute(tenants.insert().values(id=i, slug=f"t{i}", name="T", webhook_secret_enc="x", site_key=f"k{i}",
                                                 api_token_sha256=f"h{i}", allowed_origins=[], settings={},
                                                 created_at=sa.func.now()))
            conn.execute(events.insert().values(tenant_id=i, source="widget", kind="widget.click", idempotency_key="e",
                                                received_at=sa.func.now(), event_time=sa.func.now(), payload={}))
            conn.execute(topics.insert().values(tenant_id=i, id=1, label="invoice", keywords=[], summary="",
                                                size=1, representatives=[], first_seen_at=sa.func.now(),
                                                last_seen_at=sa.func.now(), updated_at=sa.func.now()))
    upgrade(db)

    def count(table) -> int:  # type: ignore[no-untyped-def]
        with db.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()

    assert (count(tenants), count(events), count(topics)) == (2, 2, 2)
    with db.engine.begin() as conn:
        assert "AUTOINCREMENT" in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='tenants'").scalar()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again after the migration
        conn.execute(tenants.delete().where(tenants.c.id == 2))
    assert (count(tenants), count(events), count(topics)) == (1, 1, 1)  # the deleted tenant's rows went with it
    with db.engine.begin() as conn:
        new = conn.execute(tenants.insert().values(slug="t3", name="T", webhook_secret_enc="x", site_key="k3",
                                                   api_token_sha256="h3", allowed_origins=[], settings={},
                                                   created_at=sa.func.now())).inserted_primary_key[0]
        offset = conn.execute(events.insert().values(tenant_id=1, source="widget", kind="widget.click",
                                                     idempotency_key="e2", received_at=sa.func.now(),
                                                     event_time=sa.func.now(), payload={})).inserted_primary_key[0]
    assert (new, offset) == (3, 3)  # not 2, the deleted tenant's id and its event's offset
    downgrade(db, "0016_detector_dead_letters")
    assert (count(tenants), count(events), count(topics)) == (2, 2, 1)
    db.engine.dispose()
