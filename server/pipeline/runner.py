from __future__ import annotations

import logging
import pickle
import signal
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from sqlalchemy.orm import Session

from server.db import Database, get_or_add
from server.eventlog import EventLog
from server.pipeline.models import DetectorCheckpoint, IngestStat
from server.pipeline.stage import Stage
from server.pipeline.stats import IngestStats

log = logging.getLogger(__name__)

Writer = Callable[[Session, Any, dict[str, Any], datetime], None]


def _write_ingest_stats(session: Session, key: tuple[int, str], row: dict[str, Any], now: datetime) -> None:
    tenant_id, source = key
    stat = get_or_add(session, IngestStat, key, tenant_id=tenant_id, source=source)
    for name, value in row.items():
        setattr(stat, name, value)
    stat.updated_at = now


#: How each kind of stage output is written. Later stages register their kinds here.
WRITERS: dict[str, Writer] = {"ingest_stats": _write_ingest_stats}


def default_stages() -> list[Stage]:
    return [IngestStats()]


def partition_name(partition: tuple[int, int]) -> str:
    index, count = partition
    if not 0 <= index < count:
        raise ValueError(f"partition index {index} is not in 0..{count - 1}")
    return f"p{index}of{count}"


class Runner:
    """Reads the log after its checkpoint, applies each event to the stages that consume it, and
    commits outputs, offset and state together.

    Parameters
    ----------
    db
        The database holding the log, the checkpoints and the outputs.
    log
        The event log to read.
    stages
        Builds fresh stages; used when there is no checkpoint yet.
    partition
        ``(index, count)``: this runner handles tenants whose id modulo ``count`` is ``index``.
    batch_size
        Events per checkpointed batch.
    checkpoint_seconds
        Least time between two checkpoints. Outputs are written after every batch; the offset and
        state only every ``checkpoint_seconds``, because pickling large state per batch costs more
        than replaying a few batches after a crash (replays rewrite identical outputs). A runner that
        reaches the head of the log with at least a batch's worth of events unsaved (a catch-up)
        checkpoints at once; a live trickle of small batches waits for its time, and a stopping
        runner saves what it has (``flush``).
    clock
        Wall clock, used only for ``updated_at`` bookkeeping, never for detection.
    """

    def __init__(self, db: Database, log: EventLog, stages: Callable[[], Sequence[Stage]] = default_stages, *,
                 partition: tuple[int, int] = (0, 1), batch_size: int = 500, checkpoint_seconds: float = 0.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.db = db
        self.log = log
        self.stages_factory = stages
        self.partition = partition
        self.name = partition_name(partition)
        self.batch_size = batch_size
        self.checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = time.monotonic()
        self._unsaved = False
        self._unsaved_events = 0
        self.clock = clock
        self.offset = 0
        self.processed = 0
        self.stages: list[Stage] = []
        self.restore()

    def restore(self) -> None:
        """(Re)load the last checkpoint, or start from the beginning of the log."""
        with self.db.session() as session:
            cp = session.get(DetectorCheckpoint, self.name)
            if cp is None:
                self.offset, self.processed, self.stages = 0, 0, list(self.stages_factory())
                self._unsaved, self._unsaved_events = False, 0
                return
            saved: dict[str, Any] = pickle.loads(cp.state)
            self.stages = list(self.stages_factory())
            # A stage added since the checkpoint starts fresh; state of removed stages is dropped.
            for stage in self.stages:
                if stage.name in saved:
                    stage.load_state(saved[stage.name])
            self.offset, self.processed = cp.offset, cp.events_processed
            self._saved()

    def step(self) -> int:
        """Process one batch; returns how many events it read (0 when caught up)."""
        with self.db.session() as session:
            events = self.log.read(session, self.offset, self.batch_size, partition=self.partition)
            if not events:
                now = self.clock()
                wrote = self._idle(session, now)
                caught_up = self._unsaved_events >= self.batch_size  # after a catch-up: make it durable now
                if (self._unsaved or wrote) and (caught_up or self._due()):
                    self._save(session, self.offset, self.processed, now)
                    session.commit()
                    self._saved()
                elif wrote:
                    session.commit()
                    self._unsaved = True
                return 0
            try:
                for stage in self.stages:
                    mine = [e for e in events if stage.consumes(e)]
                    if mine:
                        stage.apply_batch(mine)
                now = self.clock()
                self._write_outputs(session, now)
                new_offset = events[-1].offset
                due = self._due()
                if due:
                    self._save(session, new_offset, self.processed + len(events), now)
                session.commit()
                if due:
                    self._saved()
                else:
                    self._unsaved = True
                    self._unsaved_events += len(events)
            except BaseException:
                session.rollback()
                # The in-memory state may hold part of the batch: go back to what was committed.
                self.restore()
                raise
        self.offset = new_offset
        self.processed += len(events)
        return len(events)

    def _due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds

    def _saved(self) -> None:
        self._last_checkpoint, self._unsaved, self._unsaved_events = time.monotonic(), False, 0

    def flush(self) -> None:
        """Checkpoint what was processed since the last checkpoint (before stopping)."""
        if not self._unsaved:
            return
        with self.db.session() as session:
            self._save(session, self.offset, self.processed, self.clock())
            session.commit()
        self._saved()

    def _idle(self, session: Session, now: datetime) -> bool:
        """Tell the stages the log is drained at wall time ``now``; write what that changed."""
        try:
            for stage in self.stages:
                stage.idle(now)
            return self._write_outputs(session, now) > 0
        except BaseException:
            session.rollback()
            self.restore()
            raise

    def _write_outputs(self, session: Session, now: datetime) -> int:
        """Write every stage's changed rows; returns how many."""
        n = 0
        for stage in self.stages:
            for kind, key, row in stage.outputs():
                WRITERS[kind](session, key, row, now)
                n += 1
        return n

    def _save(self, session: Session, offset: int, processed: int, now: datetime) -> None:
        state = pickle.dumps({s.name: s.state() for s in self.stages}, protocol=pickle.HIGHEST_PROTOCOL)
        cp = session.get(DetectorCheckpoint, self.name)
        if cp is None:
            cp = DetectorCheckpoint(partition=self.name)
            session.add(cp)
        cp.offset, cp.events_processed, cp.state, cp.updated_at = offset, processed, state, now

    def run_until_idle(self) -> int:
        """Process batches until the log has nothing new; returns events processed."""
        total = 0
        while n := self.step():
            total += n
        return total


def run_forever(runner: Runner, *, poll_seconds: float = 0.5, stop: threading.Event | None = None,
                on_batch: Callable[[int], None] | None = None) -> None:
    """Run the detector until SIGTERM/SIGINT (or ``stop``); a signal lets the current batch finish."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info("detector started", extra={"partition": runner.name, "offset": runner.offset})
    while not stop.is_set():
        try:
            n = runner.step()
        except Exception:
            log.exception("detector batch failed; retrying from the last checkpoint")
            stop.wait(min(5.0, poll_seconds * 4))
            continue
        if n and on_batch:
            on_batch(n)
        if not n:
            stop.wait(poll_seconds)
    try:
        runner.flush()
    except Exception:
        log.exception("detector could not save its last checkpoint; a restart replays from the one before")
    log.info("detector stopped", extra={"partition": runner.name, "offset": runner.offset})
