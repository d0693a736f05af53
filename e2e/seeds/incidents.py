"""The incidents page's browser tests: the sidebar's sample (topics, an open ticket incident with evidence,
representatives and volume, a ticket whose text is an HTML injection) and an open friction incident on
/invoices whose failed requests were joined by rage clicks, as the detector writes them.

Returns ``incident_id`` (the ticket incident), ``xss_ticket_id`` and ``friction_incident_id``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from server.incidents.writers import write_incident
from server.widget.detectors import HOUR, Alarm
from server.widget.friction import FrictionIncidents
from server.zendesk.sample import write_sample


def seed(ctx: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    sample = write_sample(ctx.db, ctx.tenant_id, now=now, topics=2, tickets_per_topic=30, incidents=1,
                          tickets_per_incident=12)
    friction_id = max(sample.incident_ids) + 1
    ts = now.timestamp()
    incidents = FrictionIncidents()
    for signal, observed, expected in (("failed_request", 48, 4.9), ("rage_click", 85, 10.1)):
        incidents.alarm(Alarm("/invoices", signal, observed, expected, 1e-12, {f"s{i}" for i in range(40)},
                              {f"u{i}" for i in range(30)}, ts - ts % HOUR), ts, lambda: friction_id)
    with ctx.db.session() as session:
        for snap in incidents.take_changes():
            write_incident(session, (ctx.tenant_id, snap["id"]), snap, now)
        session.commit()
    return {"incident_id": sample.incident_ids[0], "xss_ticket_id": sample.xss_ticket_id,
            "friction_incident_id": friction_id}
