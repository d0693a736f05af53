from __future__ import annotations

import logging
import pickle
import signal
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import Database, get_or_add
from server.eventlog import EventLog
from server.eventlog.log import LoggedEvent
from server.eventlog.models import Event
from server.metrics import DETECTOR_DEAD_LETTERS
from server.pipeline.models import DeadLetter, DetectorCheckpoint, IngestStat
from server.pipeline.stage import Stage
from server.pipeline.stats import IngestStats
from server.tenants.models import Tenant

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
#: Output kinds that are messages to people (the notification outbox, whose rows become Slack messages and webhook
#: calls) rather than state. They are not written for events whose outputs an earlier run already wrote (see
#: ``Runner.replayed_through``): those messages were queued then, and a replay that numbers incidents differently
#: (a retried dead letter now opening one of its own) would queue old news again under new numbers.
MESSAGE_KINDS = frozenset({"notification"})
#: The runner's own entry in a checkpoint's pickled state, beside each stage's (no stage has this name).
RUNNER_STATE = "~runner"


#: Times an event must fail on its own, from the state right before it, before it is skipped: once could be
#: a passing fault (a full disk, a timeout) rather than the event.
POISON_ATTEMPTS = 2
#: At most this many dead letters among any ``DEAD_LETTER_WINDOW`` consecutive events of a partition (in offset
#: order, counted from the log and ``detector_dead_letters``): an event that would make one more is retried instead
#: of skipped, stalling the partition. So many bad events close together is more likely a fault of the detector (a
#: bad deploy breaking every ticket while widget events still pass, a missing column) than of them. Being counted
#: by offset from tables, not in memory or by wall time, the limit survives restarts and a replay from any
#: checkpoint makes the same decisions.
MAX_DEAD_LETTERS = 3
DEAD_LETTER_WINDOW = 1000
#: Longest error message kept in a dead letter.
ERROR_CHARS = 500


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or used (dropped connection, locked or
    restarting database), not that an event was bad: such a failure is retried, never blamed on an event."""
    return (isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                             sa_exc.TimeoutError))
            or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated))


def default_stages() -> list[Stage]:
    return [IngestStats()]


def partition_name(partition: tuple[int, int]) -> str:
    index, count = partition
    if not 0 <= index < count:
        raise ValueError(f"partition index {index} is not in 0..{count - 1}")
    return f"p{index}of{count}"


def parse_partition_name(name: str) -> tuple[int, int] | None:
    """``(index, count)`` from a checkpoint's name (``p1of3``), or None for a name not made by ``partition_name``.

    >>> parse_partition_name("p1of3"), parse_partition_name("p3of3"), parse_partition_name("x")
    ((1, 3), None, None)
    """
    index, sep, count = name[1:].partition("of")
    if not (name.startswith("p") and sep and index.isdigit() and count.isdigit()):
        return None
    partition = (int(index), int(count))
    return partition if 0 <= partition[0] < partition[1] and partition_name(partition) == name else None


class CheckpointMoved(Exception):
    """The partition's checkpoint is not the one this runner last loaded or saved: another process removed or
    replaced it (``groundswell dead-letters retry`` removes it so that the partition replays from the start)."""


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

    Notes
    -----
    When a batch fails (other than by a connection error, see ``is_connection_error``), the runner rolls
    back, restores its checkpoint and raises; the next steps isolate the failing event. They replay the
    batches that had passed since the checkpoint as batches, keep the state there in memory (a pickled
    snapshot), then apply the failed batch one event at a time. When one fails, the stages go back to the
    snapshot and the events before it are replayed as a batch, with a new snapshot right before it, so
    the next try starts from the state right before the event. An event that fails ``POISON_ATTEMPTS``
    times on its own is recorded in ``detector_dead_letters`` and skipped, with a checkpoint of the state
    right before it; the end of the failed batch is checkpointed too, and batches resume. Checkpoints are
    written only then, so isolating costs a pickle per failure, not a database write per event. Every
    runner, whatever its checkpoint, skips an event recorded there, so replays agree; past
    ``MAX_DEAD_LETTERS`` in ``DEAD_LETTER_WINDOW`` events it stops skipping and retries.

    The checkpoint belongs to the runner while it runs: before each step, and under a row lock before each save,
    it checks that the row is still the one it last loaded or saved, and before each step that the dead letters
    it skipped since then are still recorded (a runner without a checkpoint yet has no row to lose). When another
    process removed or replaced the checkpoint or retried such a dead letter (``groundswell dead-letters retry``
    does both), the runner drops its state in memory and starts over from what is there now (from the start of
    the log when nothing is), rather than writing its later state back over the change.

    Events up to ``replayed_through`` (the highest ``last_offset`` in the ingest statistics of the partition's
    tenants, read at every restore) had their outputs written by an earlier run, in the same transactions as
    their notifications. A runner replaying them, from an older checkpoint or from none, reads them in batches
    that end there and writes everything but ``MESSAGE_KINDS``.
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
        #: After a failed batch: the last offset of it, up to which events are isolated.
        self.isolate_through: int | None = None
        #: While isolating: events up to this offset passed (in batches before the failed one, or alone), so
        #: they are replayed as batches.
        self._good_through = 0
        #: (offset, events processed, pickled state or None for fresh stages): what a failure while isolating
        #: goes back to, in memory; the last checkpoint until then.
        self._snapshot: tuple[int, int, bytes | None] | None = None
        self._failures: dict[int, int] = {}  # offset -> failures on its own
        #: Dead letters this runner skipped since it last restored: one no longer recorded was retried.
        self._skipped: set[int] = set()
        #: (offset, events processed) of the checkpoint as this runner last loaded or saved it, None when there was
        #: none; ``_writing`` is what the save being committed writes.
        self._seen: tuple[int, int] | None = None
        self._writing: tuple[int, int] | None = None
        #: Events up to this offset were processed and their outputs written by an earlier run (see the notes).
        self.replayed_through = 0
        self.restore()
        #: Events the last step read for the first time in this process (not again after going back).
        self.new_events = 0
        self._read_through = self.offset

    def restore(self) -> None:
        """(Re)load the last checkpoint, or start from the beginning of the log."""
        self._skipped = set()
        with self.db.session() as session:
            cp = session.get(DetectorCheckpoint, self.name)
            self._snapshot = (0, 0, None) if cp is None else (cp.offset, cp.events_processed, cp.state)
            self._writing = None
            self._seen = None if cp is None else (cp.offset, cp.events_processed)
            self.replayed_through = self._written_through(session)
        self._rewind()
        if cp is None:
            self._unsaved, self._unsaved_events = False, 0
        else:
            self._saved()

    def _written_through(self, session: Session) -> int:
        """The highest offset of the partition whose outputs are written: its tenants' ingest statistics'
        ``last_offset`` (written with every batch)."""
        index, count = self.partition
        q = select(func.max(IngestStat.last_offset))
        if count > 1:
            q = q.where(IngestStat.tenant_id % count == index)
        return int(session.scalar(q) or 0)

    def _unskipped(self, session: Session) -> bool:
        """Whether a dead letter this runner skipped in memory was retried (its row removed) meanwhile. Before
        its first checkpoint there is none for the retry to remove (the first seconds of a replay), so that
        alone would not tell it to go back for the event."""
        if not self._skipped:
            return False
        still = set(session.scalars(select(DeadLetter.offset).where(DeadLetter.offset.in_(self._skipped))))
        return still != self._skipped

    def _checkpoint(self, session: Session, *, lock: bool = False) -> tuple[int, int] | None:
        """The checkpoint's offset and events processed as stored now (not its state)."""
        q = select(DetectorCheckpoint.offset, DetectorCheckpoint.events_processed) \
            .where(DetectorCheckpoint.partition == self.name)
        row = session.execute(q.with_for_update() if lock else q).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def _start_over(self) -> None:
        """The checkpoint moved under this runner: forget the state in memory and go on from it."""
        log.warning("detector checkpoint was removed or replaced by another process (dead letters retried?): "
                    "starting over from it", extra={"partition": self.name, "offset": self.offset})
        self.isolate_through = self._snapshot = None
        self._good_through = 0
        self._failures.clear()
        self.restore()

    def _rewind(self) -> None:
        """Put the stages, offset and count back as they were in the snapshot."""
        assert self._snapshot is not None
        self.offset, self.processed, state = self._snapshot
        self.stages = list(self.stages_factory())
        saved: dict[str, Any] = pickle.loads(state) if state is not None else {}
        # A stage added since the checkpoint starts fresh; state of removed stages is dropped.
        for stage in self.stages:
            if stage.name in saved:
                stage.load_state(saved[stage.name])
        # A replay rewrites the ingest statistics as it goes, so what they say was written falls back with it:
        # the highest bound any run saw is kept in the checkpoint and never lowered, or a replay interrupted
        # (a restart, a deploy, a failed batch) would queue again the messages of the events it had not reached.
        meta = saved.get(RUNNER_STATE)
        if isinstance(meta, dict):
            self.replayed_through = max(self.replayed_through, int(meta.get("replayed_through", 0)))

    def step(self) -> int:
        """Process one batch; returns how many events it read (0 when caught up). Raises when it failed;
        the next call goes on from the checkpoint (see the class notes). When the checkpoint was removed or
        replaced by another process, starts over from it first."""
        while True:
            try:
                return self._step()
            except CheckpointMoved:
                self._start_over()

    def _step(self) -> int:
        isolating = self.isolate_through is not None and self.offset < self.isolate_through
        if self.isolate_through is not None and not isolating:
            log.info("detector back to batches", extra={"partition": self.name, "offset": self.offset})
            self.isolate_through = self._snapshot = None
        replaying = isolating and self.offset < self._good_through
        start = self.offset
        with self.db.session() as session:
            if self._checkpoint(session) != self._seen or self._unskipped(session):
                raise CheckpointMoved(self.name)
            # A deleted tenant's events went with it; its state in the stages goes now, before it could be
            # written back (a silence noticed, an hour closed) for a tenant that is not there.
            existing = set(session.scalars(select(Tenant.id)))
            for stage in self.stages:
                stage.retain(existing)
            read = self.log.read(session, self.offset, 1 if isolating and not replaying else self.batch_size,
                                 partition=self.partition)
            if replaying:
                read = [e for e in read if e.offset <= self._good_through] or read[:1]
                replaying = read[-1].offset <= self._good_through if read else False
            if self.offset < self.replayed_through:  # written before: a batch ends there (see the notes)
                read = [e for e in read if e.offset <= self.replayed_through] or read
            if not read and isolating:  # the rest of the range went (a tenant deleted): nothing to isolate
                self.isolate_through = self._snapshot = None
            if not read:
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
            skipped = self._dead_letters(session, read)
            self._skipped |= skipped
            events = [e for e in read if e.offset not in skipped]
            new_offset = read[-1].offset
            try:
                for stage in self.stages:
                    mine = [e for e in events if stage.consumes(e)]
                    if mine:
                        stage.apply_batch(mine)
                now = self.clock()
                self._write_outputs(session, now, messages=new_offset > self.replayed_through)
                # While isolating, the snapshot in memory is what a failure goes back to: checkpoint at the end only.
                due = new_offset >= (self.isolate_through or 0) if isolating else self._due()
                if due:
                    self._save(session, new_offset, self.processed + len(events), now)
                session.commit()
                if due:
                    self._saved()
                else:
                    self._unsaved = True
                    self._unsaved_events += len(read)
            except CheckpointMoved:
                session.rollback()
                raise
            except BaseException as exc:
                session.rollback()
                # The in-memory state may hold part of the batch: go back to what was committed (while isolating,
                # to the snapshot, at or before ``start``).
                if isolating:
                    self._rewind()
                    if not replaying:  # the events before this one passed: the next step replays them as a batch
                        self._good_through = max(self._good_through, start)
                else:
                    self.restore()
                if not isinstance(exc, Exception) or is_connection_error(exc):
                    raise
                if not isolating:
                    self.isolate_through = max(self.isolate_through or 0, new_offset)
                    self._good_through = start  # the batches since the checkpoint passed
                    log.warning("detector batch failed; re-running it one event at a time",
                                extra={"partition": self.name, "from_offset": start, "to_offset": new_offset})
                    raise
                if replaying:  # events that passed failed together: go on one at a time from the snapshot
                    self._good_through = self.offset
                    raise
                if events and self._failed_alone(session, events[0], exc, restored_before=self.offset == start):
                    self._count_new(read)
                    return len(read)
                raise
        self.offset = new_offset
        self.processed += len(events)
        self._count_new(read)
        if events:
            self._failures.pop(events[-1].offset, None)
        if not isolating:
            self._snapshot = None  # only needed while isolating; it may be tens of MB
        elif replaying and new_offset >= self._good_through:
            self._snapshot = (self.offset, self.processed, self._dump())  # the next event is tried alone from here
        return len(read)

    def _count_new(self, read: Sequence[LoggedEvent]) -> None:
        self.new_events = sum(1 for e in read if e.offset > self._read_through)
        self._read_through = max(self._read_through, read[-1].offset)

    def _dead_letters(self, session: Session, events: Sequence[LoggedEvent]) -> set[int]:
        """Offsets among ``events`` recorded as dead letters (by this runner or any before it)."""
        return set(session.scalars(select(DeadLetter.offset).where(DeadLetter.offset >= events[0].offset,
                                                                   DeadLetter.offset <= events[-1].offset)))

    def _failed_alone(self, session: Session, event: LoggedEvent, exc: Exception, *, restored_before: bool) -> bool:
        """``event`` failed on its own, from the state right before it: count it, and once it has failed
        ``POISON_ATTEMPTS`` times, if the stages are back right before it (``restored_before``) and the partition
        has room for another dead letter, record it and checkpoint past it. Returns whether it was skipped."""
        attempts = self._failures[event.offset] = self._failures.get(event.offset, 0) + 1
        if attempts < POISON_ATTEMPTS or not restored_before:
            return False
        recent = self._recent_dead_letters(session, event.offset)
        if recent >= MAX_DEAD_LETTERS:
            log.error("detector not skipping an event that failed %d times on its own: %d events among the "
                      "partition's last %d were skipped already, which looks like a fault of the detector rather than "
                      "of the events; retrying until it passes: %s: %s", attempts, recent, DEAD_LETTER_WINDOW,
                      type(exc).__qualname__, str(exc)[:200],
                      extra={"partition": self.name, "offset": event.offset, "tenant_id": event.tenant_id,
                             "kind": event.kind})
            return False
        now = self.clock()
        row = get_or_add(session, DeadLetter, (event.offset,), offset=event.offset)
        row.partition, row.tenant_id, row.kind = self.name, event.tenant_id, event.kind[:80]
        row.error_class = f"{type(exc).__module__}.{type(exc).__qualname__}"[:200]
        row.error, row.attempts, row.created_at = str(exc)[:ERROR_CHARS], attempts, now
        assert self._snapshot is not None
        state = self._snapshot[2] if self._snapshot[2] is not None else self._dump()
        self._save(session, event.offset, self.processed, now, state)  # the restored state: right before the event
        session.commit()
        self._saved()
        self.offset = event.offset
        self._snapshot = (self.offset, self.processed, state)
        self._failures.pop(event.offset, None)
        DETECTOR_DEAD_LETTERS.labels(self.name).inc()
        log.error("detector skipped an event that failed %d times on its own: %s: %s", attempts, row.error_class,
                  row.error[:200], extra={"partition": self.name, "offset": event.offset,
                                          "tenant_id": event.tenant_id, "kind": event.kind})
        return True

    def _recent_dead_letters(self, session: Session, offset: int) -> int:
        """Dead letters of this partition's tenants among its ``DEAD_LETTER_WINDOW - 1`` events before ``offset``
        (whoever recorded them): the same whenever and from whatever checkpoint it is asked."""
        index, count = self.partition
        before = select(Event.offset).where(Event.offset < offset)
        letters = select(func.count()).select_from(DeadLetter).where(DeadLetter.offset < offset)
        if count > 1:
            before = before.where(Event.tenant_id % count == index)
            letters = letters.where(DeadLetter.tenant_id % count == index)
        first = session.scalar(before.order_by(Event.offset.desc()).offset(max(DEAD_LETTER_WINDOW - 2, 0)).limit(1))
        if first is not None:
            letters = letters.where(DeadLetter.offset >= first)
        return int(session.scalar(letters) or 0)

    def _due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds

    def _saved(self) -> None:
        self._last_checkpoint, self._unsaved, self._unsaved_events = time.monotonic(), False, 0
        if self._writing is not None:
            self._seen, self._writing = self._writing, None

    def flush(self) -> None:
        """Checkpoint what was processed since the last checkpoint (before stopping); nothing when the checkpoint
        was removed or replaced by another process (the next start goes on from that one)."""
        if not self._unsaved:
            return
        with self.db.session() as session:
            try:
                self._save(session, self.offset, self.processed, self.clock())
            except CheckpointMoved:
                log.warning("detector not saving its checkpoint: another process removed or replaced it",
                            extra={"partition": self.name, "offset": self.offset})
                return
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

    def _write_outputs(self, session: Session, now: datetime, *, messages: bool = True) -> int:
        """Write every stage's changed rows (without ``MESSAGE_KINDS`` unless ``messages``); returns how many."""
        n = 0
        for stage in self.stages:
            for kind, key, row in stage.outputs():
                if messages or kind not in MESSAGE_KINDS:
                    WRITERS[kind](session, key, row, now)
                    n += 1
        return n

    def _dump(self) -> bytes:
        state: dict[str, Any] = {s.name: s.state() for s in self.stages}
        state[RUNNER_STATE] = {"replayed_through": self.replayed_through}
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def _save(self, session: Session, offset: int, processed: int, now: datetime, state: bytes | None = None) -> None:
        """Write the checkpoint (committed by the caller); raises ``CheckpointMoved`` when the stored one is not
        the one this runner last loaded or saved. The row stays locked until the commit (PostgreSQL)."""
        if self._checkpoint(session, lock=True) != self._seen:
            raise CheckpointMoved(self.name)
        state = self._dump() if state is None else state
        self._writing = (offset, processed)
        cp = session.get(DetectorCheckpoint, self.name)
        if cp is None:
            cp = DetectorCheckpoint(partition=self.name)
            session.add(cp)
        cp.offset, cp.events_processed, cp.state, cp.updated_at = offset, processed, state, now

    def run_until_idle(self) -> int:
        """Process batches until the log has nothing new; returns events read (skipped ones included, replayed
        ones once).

        A failing event is isolated and skipped as under ``run_forever``; a connection error, or failures
        that make no progress, raise.
        """
        total = failures = 0
        while True:
            try:
                n = self.step()
            except Exception as exc:
                failures += 1
                if is_connection_error(exc) or failures > POISON_ATTEMPTS + 1:  # a batch, then each attempt
                    raise
                continue
            if not n:
                return total
            total += self.new_events
            failures = 0


def dead_letters(session: Session, limit: int = 100) -> list[DeadLetter]:
    """The events the detector skipped, newest first."""
    return list(session.scalars(select(DeadLetter).order_by(DeadLetter.offset.desc()).limit(limit)))


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
        if runner.new_events and on_batch:
            on_batch(runner.new_events)  # events read for the first time: a replay while isolating counts once
        if not n:
            stop.wait(poll_seconds)
    try:
        runner.flush()
    except Exception:
        log.exception("detector could not save its last checkpoint; a restart replays from the one before")
    log.info("detector stopped", extra={"partition": runner.name, "offset": runner.offset})
