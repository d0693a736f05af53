"""Imports every model module so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from server.eventlog.models import Event
from server.pipeline.models import DetectorCheckpoint, IngestStat
from server.tenants.models import Tenant

__all__ = ["DetectorCheckpoint", "Event", "IngestStat", "Tenant"]
