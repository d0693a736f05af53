from __future__ import annotations

import abc
from datetime import datetime
from typing import Any, Container, Iterable, Sequence

from server.eventlog.log import LoggedEvent


class Stage(abc.ABC):
    """One step of the pipeline.

    ``name`` is stable: it keys the stage's state in checkpoints. ``sources`` lists the event
    sources the stage consumes (the runner hands it nothing else). ``state()`` returns what a
    checkpoint must keep (it must pickle); ``load_state`` puts it back into a freshly built
    stage, so dependencies that do not pickle (an embedding model) come from the constructor.
    """

    name: str = ""
    sources: frozenset[str] = frozenset()

    def consumes(self, event: LoggedEvent) -> bool:
        return event.source in self.sources

    @abc.abstractmethod
    def apply(self, event: LoggedEvent) -> None:
        """Fold one event into the stage's state."""

    def apply_batch(self, events: Sequence[LoggedEvent]) -> None:
        """Fold events in order; stages that batch work (embeddings) override this."""
        for event in events:
            self.apply(event)

    def retain(self, tenant_ids: Container[int]) -> None:
        """Forget every tenant not in ``tenant_ids`` (deleted ones): their state, and what they have waiting
        to be written. Stages that keep state per tenant override it."""

    def idle(self, now: datetime) -> None:
        """The log is drained at wall time ``now`` (live only; replays never call this). Stages whose
        event time must move on without events (a silence is news) override it."""

    @abc.abstractmethod
    def outputs(self) -> Iterable[tuple[str, Any, dict[str, Any]]]:
        """Rows changed since the last call, as (kind, key, row) triples, for the runner to write.

        Writes must be idempotent (snapshots of state, or field updates that are the same
        when repeated), because a restart replays the events after the last checkpoint.
        """

    @abc.abstractmethod
    def state(self) -> Any:
        """The stage's learned state, as it goes into a checkpoint."""

    @abc.abstractmethod
    def load_state(self, state: Any) -> None:
        """Restore ``state()`` from a checkpoint into this (freshly constructed) stage."""
