"""The stages the detector runs and the writers of their outputs, in one place."""

from __future__ import annotations

import time
from typing import Any, Callable

from sqlalchemy import select

from server.db import Database
from server.pipeline.runner import WRITERS
from server.pipeline.stage import Stage
from server.pipeline.stats import IngestStats
from server.tenants import Tenant
from server.accounts.writers import write_organization
from server.incidents.writers import (write_incident, write_incident_ticket, write_incident_ticket_detached,
                                     write_notification, write_volume_point)
from server.topics.writers import write_text_vector, write_ticket, write_topic
from server.widget.writers import write_ticket_sessions, write_widget_session

WRITERS.update(topic=write_topic, ticket=write_ticket, incident=write_incident, incident_ticket=write_incident_ticket,
               incident_ticket_detached=write_incident_ticket_detached, volume_point=write_volume_point,
               notification=write_notification)
WRITERS.update(text_vector=write_text_vector)
WRITERS.update(widget_session=write_widget_session, ticket_sessions=write_ticket_sessions,
               organization=write_organization)


class TenantSettings:
    """Reads tenants' settings, refreshed at most every ``ttl`` seconds."""

    def __init__(self, db: Database, ttl: float = 30.0) -> None:
        self.db = db
        self.ttl = ttl
        self._loaded = -1e9
        self._settings: dict[int, dict[str, Any]] = {}

    def get(self, tenant_id: int) -> dict[str, Any]:
        if time.monotonic() - self._loaded > self.ttl:
            with self.db.session() as s:
                self._settings = {t.id: dict(t.settings or {}) for t in s.scalars(select(Tenant))}
            self._loaded = time.monotonic()
        return self._settings.get(tenant_id, {})

    def field_map(self, tenant_id: int) -> dict[str, str] | None:
        value = self.get(tenant_id).get("zendesk_field_map")
        return value if isinstance(value, dict) else None


def stage_factory(db: Database, embed: Callable[..., Any] | None = None,
                  topic_params: dict[str, Any] | None = None, secret_key: str | None = None) -> Callable[[], list[Stage]]:
    """Builds the detector's stages; the embedding model is created once and shared. ``secret_key``
    decrypts widget identity secrets (without it, no widget user id counts as verified)."""
    from server.incidents.stage import DetectStage
    from server.understand.stage import UnderstandStage
    from server.widget.runtime import WidgetTenantData
    from server.widget.stage import WidgetStage

    if embed is None:
        from server.understand.embed import Embedder

        embed = Embedder().embed
    settings = TenantSettings(db)
    widget_data = WidgetTenantData(db, secret_key)

    def build() -> list[Stage]:
        understand = UnderstandStage(embed, topic_params=topic_params, field_maps=settings.field_map)
        widget = WidgetStage(verify=widget_data.verify, field_maps=settings.field_map)
        # Each tenant's engines start from the default settings and take the tenant's own from the log's
        # control.settings and control.widget_settings events (every change of them appends one), in log
        # order: a replay from the start (a retried dead letter, a new partitioning) then judges each event
        # by the settings in force when it came, not by today's.
        detect = DetectStage(understand, pages=widget.pages_before)
        widget.new_incident_id = detect.reserve_incident_id
        return [IngestStats(), understand, widget, detect]

    return build
