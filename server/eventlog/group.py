"""Group commit: appends from many request threads share one transaction, so one fsync.

Each append is acknowledged only after the transaction holding it committed, so "accepted means
stored" holds exactly as with one transaction per request. While a commit is in flight, the
appends that arrive meanwhile queue up and go into the next transaction together; an idle server
commits a lone append at once, so nothing waits for company.

Why not a library: neither SQLAlchemy nor the database drivers batch commits across threads,
and the measured cost of one commit per request (bench/ingest.py) was the ingest bottleneck on
both SQLite (single writer, fsync per commit) and PostgreSQL (the log's append lock plus the
commit's WAL flush).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import threading
from concurrent.futures import Future
from datetime import datetime
from typing import Sequence

from server.db import Database
from server.eventlog.log import AppendResult, EventLog, NewEvent

log = logging.getLogger(__name__)

_Item = tuple[int, Sequence[NewEvent], datetime, "Future[AppendResult]"]


class GroupCommitter:
    """Commits appends in groups from one background thread per process.

    Parameters
    ----------
    db
        The database of the event log.
    event_log
        The log to append to.
    max_group
        Most appends in one transaction.
    """

    def __init__(self, db: Database, event_log: EventLog, *, max_group: int = 64) -> None:
        self.db = db
        self.event_log = event_log
        self.max_group = max_group
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.groups = 0
        self.appends = 0
        # SQLite has one writer; a process that finds the write lock taken sleeps in growing steps
        # in its busy handler. Queuing the web workers' committers on a blocking file lock instead
        # wakes the next one the moment the previous commit ends.
        database = db.engine.url.database if db.dialect == "sqlite" else None
        self._lock_path = f"{database}-append.lock" if database and database != ":memory:" else None

    @contextlib.contextmanager
    def _writer_lock(self):  # type: ignore[no-untyped-def]
        if self._lock_path is None:
            yield
            return
        with open(self._lock_path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def append(self, tenant_id: int, events: Sequence[NewEvent], received_at: datetime,
               timeout: float = 30.0) -> AppendResult:
        """Append and wait until committed; raises what the commit raised."""
        self._ensure_thread()
        future: Future[AppendResult] = Future()
        self._queue.put((tenant_id, events, received_at, future))
        return future.result(timeout=timeout)

    def _ensure_thread(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="eventlog-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        q = self._queue
        while True:
            group = [q.get()]
            while len(group) < self.max_group:
                try:
                    group.append(q.get_nowait())
                except queue.Empty:
                    break
            self._commit(group)

    def _commit(self, group: list[_Item]) -> None:
        try:
            with self._writer_lock(), self.db.session() as session:
                results = self.event_log.append_many(session, [(t, evs, rx) for t, evs, rx, _ in group])
                session.commit()
        except Exception as e:
            if len(group) > 1:  # find the one that fails; the others still commit
                for item in group:
                    self._commit([item])
                return
            log.warning("event log append failed: %s", type(e).__name__)
            group[0][3].set_exception(e)
            return
        self.groups += 1
        self.appends += len(group)
        for (_, _, _, future), result in zip(group, results):
            future.set_result(result)
