from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.eventlog.models import Event

# An arbitrary constant naming the append lock among the application's advisory locks.
_APPEND_LOCK_KEY = 0x6753_4C4F47  # "gSLOG"
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:k)")
_STAGING_DDL = text(
    "CREATE TEMP TABLE IF NOT EXISTS gs_event_staging (seq integer, tenant_id integer, source varchar(16), "
    "kind varchar(80), idempotency_key varchar(160), received_at timestamptz, event_time timestamptz, "
    "payload jsonb) ON COMMIT DELETE ROWS")
_STAGING_INSERT = text(
    "INSERT INTO gs_event_staging (seq, tenant_id, source, kind, idempotency_key, received_at, event_time, payload) "
    "VALUES (:seq, :tenant_id, :source, :kind, :idempotency_key, :received_at, :event_time, CAST(:payload AS jsonb))")
_STAGING_MOVE = text(
    'INSERT INTO events (tenant_id, source, kind, idempotency_key, received_at, event_time, payload) '
    "SELECT tenant_id, source, kind, idempotency_key, received_at, event_time, payload FROM gs_event_staging "
    'ORDER BY seq ON CONFLICT (tenant_id, source, idempotency_key) DO NOTHING '
    'RETURNING "offset", tenant_id, source, idempotency_key')


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
_INSERTS: dict[str, Any] = {}


def _insert_stmt(dialect: str) -> Any:
    if dialect not in _INSERTS:
        module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
        if module is None:  # pragma: no cover - guarded by configuration
            raise RuntimeError(f"unsupported database dialect {dialect}")
        _INSERTS[dialect] = module.insert(Event).on_conflict_do_nothing(
            index_elements=["tenant_id", "source", "idempotency_key"]).returning(Event.offset)
    return _INSERTS[dialect]


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended: already validated and authenticated."""

    source: str
    kind: str
    idempotency_key: str
    event_time: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class AppendResult:
    accepted: int
    duplicates: int
    offsets: tuple[int, ...]


@dataclass(frozen=True)
class LoggedEvent:
    """An event as read back from the log (plain data, safe to hand to pipeline stages)."""

    offset: int
    tenant_id: int
    source: str
    kind: str
    idempotency_key: str
    received_at: datetime
    event_time: datetime
    payload: dict[str, Any]


class EventLog(abc.ABC):
    """Append-only, idempotent, offset-ordered log of incoming events."""

    @abc.abstractmethod
    def append(self, session: Session, tenant_id: int, events: Sequence[NewEvent],
               received_at: datetime) -> AppendResult:
        """Append ``events`` for one tenant in the session's transaction (the caller commits)."""

    def append_many(self, session: Session,
                    items: Sequence[tuple[int, Sequence[NewEvent], datetime]]) -> list[AppendResult]:
        """Append several (tenant_id, events, received_at) items in the session's transaction."""
        return [self.append(session, t, evs, rx) for t, evs, rx in items]

    @abc.abstractmethod
    def read(self, session: Session, after: int, limit: int, *, partition: tuple[int, int] = (0, 1),
             tenant_id: int | None = None) -> list[LoggedEvent]:
        """Events with offset > ``after`` in offset order, for tenants in ``partition`` (index, count)."""

    @abc.abstractmethod
    def head(self, session: Session, tenant_id: int | None = None) -> int:
        """The highest committed offset (0 when empty)."""


class SqlEventLog(EventLog):
    """The event log as one SQL table (``events``)."""

    @staticmethod
    def _rows(tenant_id: int, events: Sequence[NewEvent], received_at: datetime) -> list[dict[str, Any]]:
        """One row per distinct (source, key); repeats inside ``events`` are dropped."""
        unique: dict[tuple[str, str], NewEvent] = {}
        for ev in events:
            unique.setdefault((ev.source, ev.idempotency_key), ev)
        return [{"tenant_id": tenant_id, "source": ev.source, "kind": ev.kind,
                 "idempotency_key": ev.idempotency_key, "received_at": received_at,
                 "event_time": ev.event_time, "payload": ev.payload} for ev in unique.values()]

    def append_many(self, session: Session,
                    items: Sequence[tuple[int, Sequence[NewEvent], datetime]]) -> list[AppendResult]:
        """On PostgreSQL, rows are first written to a session-local staging table without the
        append lock; under the lock, one server-side ``INSERT … SELECT`` moves them into the log.
        The lock is then held for that statement and the commit only, not while Python builds
        and sends every row."""
        if session.get_bind().dialect.name != "postgresql":
            return super().append_many(session, items)
        staged: list[dict[str, Any]] = []
        owner: dict[tuple[int, str, str], int] = {}
        for i, (tenant_id, events, rx) in enumerate(items):
            for row in self._rows(tenant_id, events, rx):
                owner.setdefault((tenant_id, row["source"], row["idempotency_key"]), i)
                staged.append(dict(row, seq=len(staged)))
        if staged:
            session.execute(_STAGING_DDL)
            session.execute(_STAGING_INSERT, [dict(r, payload=_json(r["payload"])) for r in staged])
            session.execute(_LOCK_SQL, {"k": _APPEND_LOCK_KEY})
            moved = session.execute(_STAGING_MOVE).all()
        else:
            moved = []
        offsets: list[list[int]] = [[] for _ in items]
        for offset, tenant_id, source, key in moved:
            offsets[owner[(tenant_id, source, key)]].append(offset)
        return [AppendResult(len(o), len(evs) - len(o), tuple(sorted(o))) for o, (_, evs, _) in zip(offsets, items)]

    def append(self, session: Session, tenant_id: int, events: Sequence[NewEvent],
               received_at: datetime) -> AppendResult:
        rows = self._rows(tenant_id, events, received_at)
        if not rows:
            return AppendResult(0, len(events), ())
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(_LOCK_SQL, {"k": _APPEND_LOCK_KEY})
        # One statement per dialect, executed with many parameter sets: compiled once per process
        # (a multi-row VALUES built per request would be compiled again for every batch size).
        offsets = tuple(sorted(session.execute(_insert_stmt(dialect), rows).scalars().all()))
        return AppendResult(len(offsets), len(events) - len(offsets), offsets)

    def read(self, session: Session, after: int, limit: int, *, partition: tuple[int, int] = (0, 1),
             tenant_id: int | None = None) -> list[LoggedEvent]:
        index, count = partition
        q = select(Event).where(Event.offset > after)
        if tenant_id is not None:
            q = q.where(Event.tenant_id == tenant_id)
        if count > 1:
            q = q.where(Event.tenant_id % count == index)
        q = q.order_by(Event.offset).limit(limit)
        return [
            LoggedEvent(e.offset, e.tenant_id, e.source, e.kind, e.idempotency_key,
                        as_utc(e.received_at), as_utc(e.event_time), e.payload)
            for e in session.scalars(q)
        ]

    def head(self, session: Session, tenant_id: int | None = None) -> int:
        q = select(func.max(Event.offset))
        if tenant_id is not None:
            q = q.where(Event.tenant_id == tenant_id)
        return int(session.scalar(q) or 0)

    def count(self, session: Session, tenant_id: int, after: int = 0) -> int:
        q = select(func.count()).select_from(Event).where(Event.tenant_id == tenant_id, Event.offset > after)
        return int(session.scalar(q) or 0)

    def oldest_received_after(self, session: Session, after: int) -> datetime | None:
        """Received time of the first event past ``after`` (None when there is none)."""
        q = select(Event.received_at).where(Event.offset > after).order_by(Event.offset).limit(1)
        value = session.scalar(q)
        return as_utc(value) if value is not None else None


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime. SQLite returns naive datetimes for timezone-aware columns; they are stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iter_all(log: EventLog, session: Session, batch: int = 1000) -> Iterable[LoggedEvent]:
    after = 0
    while True:
        chunk = log.read(session, after, batch)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].offset
