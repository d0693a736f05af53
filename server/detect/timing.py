"""Event time helpers: detection runs in event time, carried in each point, never the wall clock.

>>> from datetime import datetime, timezone
>>> event_time(datetime(2026, 1, 1, tzinfo=timezone.utc)), event_time(None), event_time(60)
(1767225600.0, None, 60.0)
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["event_time"]


def event_time(t: datetime | float | int | None) -> float | None:
    """Epoch seconds of an event time; naive datetimes are read as UTC (local wall time, for profiles)."""
    if t is None:
        return None
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return t.timestamp()
    return float(t)
