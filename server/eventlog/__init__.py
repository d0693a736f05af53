"""The durable, append-only event log that everything entering Groundswell goes through.

Ingest appends; the detector reads in offset order. ``EventLog`` is the interface, so that a
broker (Kafka, say) can replace the SQL table when event rates demand it; ``SqlEventLog`` is
the implementation on the application database.

Guarantees of ``SqlEventLog``:

- **Idempotent**: ``(tenant_id, source, idempotency_key)`` is unique; a repeated delivery is
  acknowledged and counted as a duplicate, never stored twice.
- **Durable**: an append returns only after its transaction committed.
- **Ordered**: offsets increase in commit order, so a reader that has seen offset N has seen
  every event with a smaller offset. PostgreSQL appends take a transaction-scoped advisory lock
  (sequence values are otherwise handed out before commit, in a different order); SQLite
  serialises writers by itself.
"""

from server.eventlog.log import AppendResult, EventLog, NewEvent, SqlEventLog
from server.eventlog.models import Event

__all__ = ["AppendResult", "Event", "EventLog", "NewEvent", "SqlEventLog"]
