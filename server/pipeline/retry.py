"""Putting skipped events back: ``groundswell dead-letters retry``.

A dead letter is skipped by every runner (server/pipeline/runner.py). Once its cause is fixed, retrying it removes
the row and the checkpoint of every partition holding its tenant, so that partition replays its log from the start
with the event included, as if it had never failed. A running detector notices its checkpoint gone before its next
step and starts over by itself (``Runner`` notes). The replay rewrites the partition's outputs and queues no message
for events it had processed before (``MESSAGE_KINDS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.eventlog.models import Event
from server.pipeline.models import DeadLetter, DetectorCheckpoint
from server.pipeline.runner import parse_partition_name


@dataclass(frozen=True)
class Replay:
    """A partition that replays its log from the start: its checkpoint's name and offset, and how many events its
    log holds (what the replay reads)."""

    partition: str
    offset: int
    events: int


@dataclass(frozen=True)
class RetryPlan:
    """The dead letters to retry, oldest first, and the partitions that replay for them."""

    letters: list[DeadLetter]
    replays: list[Replay]


class NotDeadLetters(ValueError):
    """Some offsets asked for are not dead letters."""

    def __init__(self, offsets: Sequence[int]) -> None:
        self.offsets = list(offsets)
        super().__init__("not dead letters: " + ", ".join(map(str, self.offsets)))


def plan_retry(session: Session, offsets: Sequence[int] | None) -> RetryPlan:
    """What retrying the dead letters at ``offsets`` (None: all of them) removes and replays; changes nothing.

    Every checkpoint whose partition holds one of their tenants is replayed, whatever partitioning recorded the
    dead letter (``partition`` is the one that skipped it). Raises ``NotDeadLetters`` when an offset is not one.
    """
    q = select(DeadLetter).order_by(DeadLetter.offset)
    if offsets is not None:
        q = q.where(DeadLetter.offset.in_(set(offsets)))
    letters = list(session.scalars(q))
    missing = sorted(set(offsets or ()) - {r.offset for r in letters})
    if missing:
        raise NotDeadLetters(missing)
    tenants = {r.tenant_id for r in letters}
    replays = []
    for name, offset in session.execute(select(DetectorCheckpoint.partition, DetectorCheckpoint.offset)
                                        .order_by(DetectorCheckpoint.partition)):
        partition = parse_partition_name(name)
        if partition is None or not any(t % partition[1] == partition[0] for t in tenants):
            continue
        index, count = partition
        events = select(func.count()).select_from(Event)
        if count > 1:
            events = events.where(Event.tenant_id % count == index)
        replays.append(Replay(name, int(offset), int(session.scalar(events) or 0)))
    return RetryPlan(letters, replays)


def retry(session: Session, plan: RetryPlan) -> None:
    """Remove the plan's dead letters and checkpoints (the caller commits)."""
    session.execute(delete(DeadLetter).where(DeadLetter.offset.in_([r.offset for r in plan.letters])))
    session.execute(delete(DetectorCheckpoint).where(DetectorCheckpoint.partition.in_([r.partition
                                                                                      for r in plan.replays])))
