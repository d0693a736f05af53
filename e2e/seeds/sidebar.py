"""The sidebar's browser tests: a fake Zendesk the tenant is connected to, a topic with tickets, an open
incident with evidence, representatives and volume, and a ticket whose text is an HTML injection.

Returns ``zendesk_url`` (the fake Zendesk: ``GET {zendesk_url}/__fake/requests`` lists the calls the
backend made, ``GET {zendesk_url}/__fake/tickets/<id>`` shows a ticket and its comments),
``incident_id``, ``incident_ticket_id`` (attached to the open incident), ``plain_ticket_id`` (has a
topic, no incident), ``xss_ticket_id`` (subject and excerpt ``<img src=x onerror=alert(1)>``, attached
to the incident and among its representatives) and ``unknown_ticket_id`` (never seen). The incident
ticket's requester has two widget sessions before it, one stuck on ``/invoices/:id``. The plain ticket's
organization wrote 25 tickets in the last day, far above the same weekday of the three weeks before.
Options: ``auto_link=1`` switches automatic linking on.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from server.zendesk.connection import connect
from server.zendesk.fake import FakeZendesk
from server.zendesk.sample import rest_ticket, write_account_history, write_requester_sessions, write_sample
from server.zendesk.service import update_zendesk_settings



def seed(ctx: Any) -> dict[str, Any]:
    fake = FakeZendesk(email="admin@acme.test", token="e2e-zendesk-token", auto_deliver=True).start()
    os.environ["ZENPY_FORCE_SCHEME"] = "http"
    os.environ["ZENPY_FORCE_NETLOC"] = fake.netloc
    sample = write_sample(ctx.db, ctx.tenant_id, now=datetime.now(timezone.utc), topics=2, tickets_per_topic=30,
                          incidents=1, tickets_per_incident=12)
    for zid, row in sample.tickets.items():
        fake.add_ticket(rest_ticket(zid, row))
    with ctx.db.session() as session:
        connect(session, ctx.tenant_id, subdomain=ctx.slug, email=fake.email, token=fake.token,
                secret_key=ctx.app.extensions["groundswell.secret_key"], now=datetime.now(timezone.utc))
        session.commit()
        if ctx.options.get("auto_link") in ("1", "true"):
            update_zendesk_settings(session, ctx.tenant_id, auto_link=True)
    incident_id = sample.incident_ids[0]
    ticket_id = sample.incident_tickets[incident_id][0]
    write_requester_sessions(ctx.db, ctx.tenant_id, ticket_id, ticket_at=sample.tickets[ticket_id]["created_at"])
    plain_org = sample.tickets[sample.plain_ticket_id]["organization_id"]
    write_account_history(ctx.db, ctx.tenant_id, datetime.now(timezone.utc), surge_org=plain_org)
    return {
        "zendesk_url": fake.base_url,
        "incident_id": incident_id,
        "incident_ticket_id": ticket_id,
        "plain_ticket_id": sample.plain_ticket_id,
        "plain_organization_id": plain_org,
        "xss_ticket_id": sample.xss_ticket_id,
        "unknown_ticket_id": "999999",
    }
