"""Database engine, sessions and the declarative base.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so the web workers and the
detector, which are separate processes, share one file safely. PostgreSQL uses the same models.

The engine and session factory are created per configuration and kept on the Flask app
(``app.extensions["groundswell.db"]``); code below the views receives a ``Session`` as an
argument and never commits on its own: the service that opened the unit of work commits it.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import BigInteger, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit integer key that is SQLite's rowid alias there (only INTEGER PRIMARY KEY autoincrements).
BigIntKey = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Database:
    """An engine plus a session factory for one database URL.

    Examples
    --------
    >>> db = Database("sqlite://")
    >>> with db.session() as s:
    ...     s.connection().exec_driver_sql("select 1").scalar()
    1
    >>> db.dispose()
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _configure_sqlite(self.engine, sqlite_synchronous)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._factory()

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    sync = synchronous.upper()
    if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL lets readers proceed while one writer appends; busy_timeout makes writers queue
        # instead of failing while another process holds the write lock.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def from_config(cfg: Mapping[str, Any]) -> Database:
    url = cfg["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return Database(url, sqlite_synchronous=cfg.get("SQLITE_SYNCHRONOUS", "FULL"))


def get_or_add(session: Any, model: type, key: tuple[Any, ...], **identity: Any) -> Any:
    """The row of ``model`` with primary key ``key``, or a new one (added, not flushed) with ``identity``."""
    row = session.get(model, key)
    if row is None:
        row = model(**identity)
        session.add(row)
    return row
