"""Per-tenant, per-source ingest statistics: how much arrives and how far the detector is behind.

Counts are kept per minute of receive time for the last 24 hours, plus totals and counts per
event kind. Everything is derived from the events alone, so a replay from any checkpoint
reaches exactly the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Container, Iterable

from server.eventlog.log import LoggedEvent
from server.pipeline.stage import Stage

#: Minutes of per-minute history kept per (tenant, source).
WINDOW_MINUTES = 24 * 60
#: Most distinct event kinds counted per (tenant, source); the rest are counted as "other".
MAX_KINDS = 64


@dataclass
class SourceStats:
    total: int = 0
    minutes: dict[int, int] = field(default_factory=dict)  # minute since epoch -> events
    kinds: Counter = field(default_factory=Counter)
    first_received_at: datetime | None = None
    last_received_at: datetime | None = None
    last_event_time: datetime | None = None
    last_offset: int = 0

    def add(self, event: LoggedEvent) -> None:
        self.total += 1
        minute = int(event.received_at.timestamp() // 60)
        self.minutes[minute] = self.minutes.get(minute, 0) + 1
        horizon = minute - WINDOW_MINUTES
        if len(self.minutes) > WINDOW_MINUTES + 1:
            for m in [m for m in self.minutes if m <= horizon]:
                del self.minutes[m]
        kind = event.kind if (event.kind in self.kinds or len(self.kinds) < MAX_KINDS) else "other"
        self.kinds[kind] += 1
        if self.first_received_at is None:
            self.first_received_at = event.received_at
        if self.last_received_at is None or event.received_at > self.last_received_at:
            self.last_received_at = event.received_at
        if self.last_event_time is None or event.event_time > self.last_event_time:
            self.last_event_time = event.event_time
        self.last_offset = event.offset

    def row(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "minutes": {str(k): v for k, v in sorted(self.minutes.items())},
            "kinds": dict(sorted(self.kinds.items())),
            "first_received_at": self.first_received_at,
            "last_received_at": self.last_received_at,
            "last_event_time": self.last_event_time,
            "last_offset": self.last_offset,
        }


class IngestStats(Stage):
    """Counts events per tenant and source.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> stage = IngestStats()
    >>> for i in range(3):
    ...     stage.apply(LoggedEvent(i + 1, 7, "widget", "widget.click", str(i), t, t, {}))
    >>> [(kind, key, row["total"], row["kinds"]) for kind, key, row in stage.outputs()]
    [('ingest_stats', (7, 'widget'), 3, {'widget.click': 3})]
    >>> list(stage.outputs())  # nothing changed since
    []
    """

    name = "ingest_stats"
    sources = frozenset({"zendesk", "widget"})

    def __init__(self) -> None:
        self.stats: dict[tuple[int, str], SourceStats] = {}
        self._dirty: set[tuple[int, str]] = set()

    def apply(self, event: LoggedEvent) -> None:
        key = (event.tenant_id, event.source)
        self.stats.setdefault(key, SourceStats()).add(event)
        self._dirty.add(key)

    def retain(self, tenant_ids: Container[int]) -> None:
        self.stats = {k: v for k, v in self.stats.items() if k[0] in tenant_ids}
        self._dirty = {k for k in self._dirty if k[0] in tenant_ids}

    def outputs(self) -> Iterable[tuple[str, tuple[int, str], dict[str, Any]]]:
        dirty, self._dirty = sorted(self._dirty), set()
        for key in dirty:
            yield "ingest_stats", key, self.stats[key].row()

    def state(self) -> dict[str, Any]:
        return {"stats": self.stats}

    def load_state(self, state: dict[str, Any]) -> None:
        self.stats = state["stats"]
        self._dirty = set()


def rate_per_minute(minutes: dict[str, int], now: datetime, span: int) -> float:
    """Average events per minute over the ``span`` whole minutes before ``now``'s minute.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> now = datetime.fromtimestamp(60 * 1000 + 30, tz=timezone.utc)  # minute 1000, 30 s in
    >>> rate_per_minute({"999": 6, "998": 4, "1000": 50}, now, 2)
    5.0
    """
    current = int(now.astimezone(timezone.utc).timestamp() // 60)
    return sum(minutes.get(str(m), 0) for m in range(current - span, current)) / span
