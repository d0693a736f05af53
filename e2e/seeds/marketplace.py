"""Data for the marketplace screenshots: a Zendesk-connected tenant with three topics, two of them in
open incidents, and nothing that would look odd in a store listing (no injection test ticket).

Returns ``incident_ticket_id`` (a ticket of the first incident, whose requester met friction in the product
before writing) and ``zendesk_url`` (the fake Zendesk).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from server.zendesk.connection import connect
from server.zendesk.fake import FakeZendesk
from server.zendesk.sample import rest_ticket, write_requester_sessions, write_sample


def seed(ctx: Any) -> dict[str, Any]:
    fake = FakeZendesk(email="admin@acme.test", token="screenshot-zendesk-token", auto_deliver=True).start()
    os.environ["ZENPY_FORCE_SCHEME"] = "http"
    os.environ["ZENPY_FORCE_NETLOC"] = fake.netloc
    now = datetime.now(timezone.utc)
    sample = write_sample(ctx.db, ctx.tenant_id, now=now, topics=3, tickets_per_topic=40, incidents=2,
                          tickets_per_incident=17, xss=False)
    for zid, row in sample.tickets.items():
        fake.add_ticket(rest_ticket(zid, row))
    with ctx.db.session() as session:
        connect(session, ctx.tenant_id, subdomain=ctx.slug, email=fake.email, token=fake.token,
                secret_key=ctx.app.extensions["groundswell.secret_key"], now=now)
        session.commit()
    first = sample.incident_ids[0]
    ticket_id = sample.incident_tickets[first][-1]
    write_requester_sessions(ctx.db, ctx.tenant_id, ticket_id, ticket_at=sample.tickets[ticket_id]["created_at"])
    return {"zendesk_url": fake.base_url, "incident_ticket_id": ticket_id}
