"""What the Slack notifier and the webhook sender share: draining an outbox table in order.

An outbox table has one row per message, keyed so that a *stream* (the columns in ``group``: one
incident's messages for one target) is ordered by ``seq``, with the columns ``tenant_id``,
``sent_at``, ``attempts``, ``next_attempt_at`` and ``last_error``. Row states:

- pending: ``sent_at`` NULL, due when ``next_attempt_at`` is NULL or past;
- delivered: ``sent_at`` set, ``last_error`` NULL;
- closed undelivered: ``sent_at`` set and ``last_error`` says why.

A pass takes the streams whose first pending row is due and sends each stream's rows in order
until one fails (a later row never overtakes an earlier one). A row is claimed with a
compare-and-set ``UPDATE`` on its key, its ``attempts`` and its being due, which counts the attempt
and leases the row, so several processes may drain the same table (the same on SQLite and
PostgreSQL). A failed attempt is retried after ``retry_seconds * 2**(attempts-1)`` (at most
``max_backoff``) or the receiver's ``Retry-After``, which also pauses every stream sharing the row's
``pause_by`` column; a permanent failure or the last attempt closes the row. A row of an incident a
mute holds back is closed as ``muted`` when it comes due, whatever the target (server/notify/mutes.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from server.db import Database
from server.eventlog.log import as_utc
from server.incidents.models import Notification
from server.metrics import NOTIFICATIONS, utcnow
from server.notify.mutes import held_back

log = logging.getLogger(__name__)


class OutboxSender:
    """Drains one outbox table; subclasses say how a row is sent (:meth:`_attempt`).

    Parameters
    ----------
    max_attempts, retry_seconds, max_backoff
        Give up after this many attempts; wait ``retry_seconds * 2**(attempts-1)``, at most ``max_backoff``.
    lease_seconds
        How long a claimed row is reserved for the process sending it.
    partition
        ``(index, count)``: only tenants with ``id % count == index``, like the detector.
    batch
        Streams looked at per pass.
    clock
        Returns the current aware UTC time (tests pass a fake).
    """

    #: The outbox's mapped class.
    model: Any
    #: Columns naming one ordered stream of rows (besides ``seq``).
    group: tuple[str, ...]
    #: The column whose value a ``Retry-After`` pauses.
    pause_by: str
    #: What a row is, for the log.
    noun = "message"
    #: The ``target`` label of ``groundswell_notifications_total``.
    target = "message"

    def __init__(self, db: Database, *, max_attempts: int = 8, retry_seconds: float = 30.0,
                 max_backoff: float = 3600.0, lease_seconds: float = 120.0, partition: tuple[int, int] = (0, 1),
                 batch: int = 100, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.max_attempts = max(1, max_attempts)
        self.retry_seconds = retry_seconds
        self.max_backoff = max_backoff
        self.lease = timedelta(seconds=lease_seconds)
        self.partition = partition
        self.batch = batch
        self.clock = clock
        self.paused: dict[Any, datetime] = {}

    # -- polling ------------------------------------------------------------------------------------
    def _pending(self) -> Any:
        m = self.model
        cond = m.sent_at.is_(None)
        index, count = self.partition
        if count > 1:
            cond = and_(cond, m.tenant_id % count == index)
        return cond

    def _due(self, now: datetime) -> Any:
        return or_(self.model.next_attempt_at.is_(None), self.model.next_attempt_at <= now)

    def due_streams(self, session: Session, now: datetime) -> list[tuple[Any, ...]]:
        """The streams whose first pending row is due, in key order (at most ``batch``)."""
        m = self.model
        cols = [getattr(m, c) for c in self.group]
        head = select(*cols, func.min(m.seq).label("seq")).where(self._pending()).group_by(*cols).subquery()
        joined = and_(*(getattr(m, c) == head.c[c] for c in self.group), m.seq == head.c.seq)
        q = select(*cols).join(head, joined).where(self._due(now)).order_by(*cols).limit(self.batch)
        return [tuple(r) for r in session.execute(q)]

    def run_once(self) -> int:
        """One pass over due rows; returns how many rows were closed (delivered or not)."""
        now = self.clock()
        with self.db.session() as session:
            streams = self.due_streams(session, now)
        done = 0
        pause_at = self.group.index(self.pause_by)
        for stream in streams:
            until = self.paused.get(stream[pause_at])
            if until is not None and until > now:
                continue
            done += self._drain(stream)
        return done

    def _stream(self, stream: tuple[Any, ...]) -> Any:
        return and_(*(getattr(self.model, c) == v for c, v in zip(self.group, stream)))

    def _drain(self, stream: tuple[Any, ...]) -> int:
        """Send the stream's due rows in order until one fails or none is due."""
        done = 0
        while True:
            now = self.clock()
            with self.db.session() as session:
                row = session.scalars(select(self.model).where(self._stream(stream), self.model.sent_at.is_(None))
                                      .order_by(self.model.seq).limit(1)).first()
                if row is None or (row.next_attempt_at is not None and as_utc(row.next_attempt_at) > now):
                    return done
                closed = self._before_claim(session, stream, row, now)
                if closed is not None:
                    done += closed
                    if closed:
                        continue
                    return done
                if not self._claim(session, row, now):
                    return done
                sent = self._attempt(session, row)
                session.commit()
                if not sent:
                    return done
                done += 1

    def _before_claim(self, session: Session, stream: tuple[Any, ...], row: Any, now: datetime) -> int | None:
        """Close the row as ``muted`` instead of sending it when a mute holds its incident back
        (server/notify/mutes.py); a subclass may first close rows for reasons of its own. How many rows were
        closed (the drain goes on), or None to send."""
        note = session.get(Notification, (row.tenant_id, row.incident_id, row.seq))  # the row itself for Slack
        series = (note.payload or {}).get("series") if note is not None else None
        why = held_back(session, self.model, self._stream(stream), row, series, now)
        if why is not None:
            return self._close(session, row, now, why)
        return None

    def _close(self, session: Session, row: Any, now: datetime, why: str) -> int:
        """Close one row undelivered (``why`` in ``last_error``) without an attempt, unless another
        process claimed it first; how many rows were closed (0 or 1)."""
        if not self._compare_and_set(session, row, now, sent_at=now, last_error=why, next_attempt_at=None):
            return 0
        NOTIFICATIONS.labels(self.target, why.replace(" ", "_")).inc()
        return 1

    def _claim(self, session: Session, row: Any, now: datetime) -> bool:
        """Count the attempt and lease the row, unless another process did first."""
        return self._compare_and_set(session, row, now, attempts=row.attempts + 1, next_attempt_at=now + self.lease)

    def _compare_and_set(self, session: Session, row: Any, now: datetime, **values: Any) -> bool:
        """Update the row if it is still pending, due and at the attempt count it was read with; commits."""
        m = self.model
        key = [c == getattr(row, c.key) for c in m.__table__.primary_key.columns]
        result = session.execute(
            update(m).where(*key, m.sent_at.is_(None), m.attempts == row.attempts, self._due(now))
            .values(**values).execution_options(synchronize_session=False))
        session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        session.refresh(row)
        return True

    def _attempt(self, session: Session, row: Any) -> bool:
        """Send one claimed row; True when delivered (the caller commits)."""
        raise NotImplementedError

    def _delivered(self, row: Any) -> None:
        row.sent_at, row.last_error, row.next_attempt_at = self.clock(), None, None
        NOTIFICATIONS.labels(self.target, "delivered").inc()

    def _failed(self, row: Any, text: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        """Record a failed attempt: retry later, or close the row (permanent, or the last attempt)."""
        now = self.clock()
        last = permanent or row.attempts >= self.max_attempts
        # A warning when a delivery starts failing and when it is given up; the retries between are info,
        # so one receiver that is down does not fill the log with a line per backoff step.
        log.log(logging.WARNING if row.attempts <= 1 or last else logging.INFO, "%s failed: %s%s", self.noun, text,
                "" if not last else " (not retried)" if permanent else f" (given up after {row.attempts} attempts)",
                extra={**{c: getattr(row, c) for c in self.group}, "tenant_id": row.tenant_id, "seq": row.seq,
                       "attempt": row.attempts})
        if retry_after:
            self.paused[getattr(row, self.pause_by)] = now + timedelta(seconds=retry_after)
        if permanent:
            row.sent_at, row.next_attempt_at, row.last_error = now, None, f"not retried: {text}"
        elif row.attempts >= self.max_attempts:
            row.sent_at, row.next_attempt_at = now, None
            row.last_error = f"gave up after {row.attempts} attempts: {text}"
        else:
            delay = retry_after or min(self.max_backoff, self.retry_seconds * 2 ** (row.attempts - 1))
            row.next_attempt_at, row.last_error = now + timedelta(seconds=delay), text
        NOTIFICATIONS.labels(self.target, "retry" if row.sent_at is None else "failed").inc()
