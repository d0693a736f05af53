from __future__ import annotations

import abc
from typing import Any, Iterable

from server.eventlog.log import LoggedEvent


class Stage(abc.ABC):
    """One step of the pipeline.

    ``name`` is stable: it keys the stage's state in checkpoints. ``sources`` lists the event
    sources the stage consumes (the runner hands it nothing else). State must pickle.
    """

    name: str = ""
    sources: frozenset[str] = frozenset()

    def consumes(self, event: LoggedEvent) -> bool:
        return event.source in self.sources

    @abc.abstractmethod
    def apply(self, event: LoggedEvent) -> None:
        """Fold one event into the stage's state."""

    @abc.abstractmethod
    def outputs(self) -> Iterable[tuple[str, Any, dict[str, Any]]]:
        """Rows changed since the last call, as (kind, key, row) triples, for the runner to upsert.

        Rows are snapshots of state, never increments, so writing one twice is harmless.
        """
