"""The incidents page's browser tests: the sidebar's sample (topics, an open ticket incident with evidence,
representatives and volume, a ticket whose text is an HTML injection) and an open friction incident on
/invoices, made by the real widget stage from 30 hours of ordinary failures and a burst of failing
sessions in the current hour (failed requests, each followed by rage clicks), and written by the
detector's writers: its card, its chart (the hours before it against its baseline, then the hour so far).
The ticket incident names /invoices as a page its requesters met friction on, so the two are related,
and carries a summary as Claude would have written it (with markup in it).
Three weeks of organizations' tickets and product accounts' sessions feed the accounts report: one
organization writes eight times its usual today, and one account (its id markup) goes silent.

With ``--opt incidents=2`` a second open ticket incident is written, on the other topic.

Returns ``incident_id`` (the ticket incident), ``incident_ids`` (all of them), ``xss_ticket_id`` and
``friction_incident_id``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from server.eventlog.log import LoggedEvent
from server.incidents.models import Incident, Notification
from server.pipeline.registry import WRITERS  # the registry adds the writers of every stage
from server.widget.stage import WidgetStage
from server.zendesk.sample import write_account_history, write_sample

SITE = "https://app.acme-billing.example"


def _friction_events(tenant_id: int, now: datetime) -> list[LoggedEvent]:
    rng = random.Random(4)
    events: list[tuple[datetime, str, str]] = []
    for h in range(30, 0, -1):  # ordinary hours: people use the page, and a session fails now and then
        events += [(now - timedelta(hours=h, minutes=10 * k + 1), f"v{h}-{k}", "page_view") for k in range(5)]
        for i in range(rng.choice((0, 1, 1, 2))):
            at = now - timedelta(hours=h, minutes=rng.uniform(0, 59))
            events += [(at, f"b{h}-{i}", "failed_request"), (at + timedelta(seconds=1), f"b{h}-{i}", "rage_click")]
    hour = now.replace(minute=0, second=0, microsecond=0)
    span = max(60.0, (now - hour).total_seconds() - 1)
    for i in range(24):  # this hour: two dozen sessions meet the failing download
        at = hour + timedelta(seconds=span * (i + 0.5) / 24)
        events.append((at, f"x{i}", "failed_request"))
        events += [(at + timedelta(seconds=0.5 + k * 0.2), f"x{i}", "rage_click") for k in range(3)]
    events.sort()
    return [LoggedEvent(n + 1, tenant_id, "widget", f"widget.{kind}", f"{sid}/{n}", at, at,
                        {"id": f"e{n}", "type": kind, "ts": int(at.timestamp() * 1000), "url": SITE + "/invoices",
                         "session_id": sid, "data": {"status": 500} if kind == "failed_request" else {}})
            for n, (at, sid, kind) in enumerate(events)]


#: A product account whose id is markup (rendered as text) that goes silent today.
MARKUP_ACCOUNT = "<img src=x onerror=alert(2)>"


def _notifications(ctx: Any, incident_id: int, now: datetime) -> None:
    """The incident's "opened" message: sent to Slack, refused by a webhook whose description is markup."""
    from server.notify.models import WebhookDelivery, WebhookEndpoint
    from server.notify.outbox import enqueue
    from server.notify.webhooks import encrypt_secret

    with ctx.db.session() as session:
        hook = WebhookEndpoint(tenant_id=ctx.tenant_id, format="groundswell", url="https://ops.example.com/hook",
                               secret_enc=encrypt_secret("gs_whsec_e2e", secret_key="e2e"), secret_hint="_e2e",
                               events=["opened", "grew", "resolved", "reopened"], kinds=None,
                               description="ops <b>bridge</b>", created_at=now)
        session.add(hook)
        session.flush()
        incident = session.get(Incident, (ctx.tenant_id, incident_id))
        enqueue(session, ctx.tenant_id, incident_id, "opened", {"id": incident_id, "kind": incident.kind,
                                                                "series": incident.series}, now, generation=0)
        session.flush()
        note = session.scalars(select(Notification).where(Notification.incident_id == incident_id)).one()
        note.sent_at, note.attempts = now, 1
        delivery = session.get(WebhookDelivery, (hook.id, incident_id, 0))
        delivery.attempts, delivery.last_status, delivery.last_error = 8, 503, "gave up after 8 attempts: http_503"
        delivery.sent_at = now
        session.commit()


def seed(ctx: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    sample = write_sample(ctx.db, ctx.tenant_id, now=now, topics=2, tickets_per_topic=30,
                          incidents=int(ctx.options.get("incidents", "1")), tickets_per_incident=12)
    friction_id = max(sample.incident_ids) + 1
    stage = WidgetStage(lambda _t: {"friction": {"warmup_hours": 24}}, new_incident_id=lambda _t: friction_id)
    stage.apply_batch(_friction_events(ctx.tenant_id, now))
    with ctx.db.session() as session:
        for kind, key, row in stage.outputs():
            if kind in ("incident", "volume_point"):
                WRITERS[kind](session, key, row, now)
        # The ticket incident's requesters met that friction before writing (as the ticket detector records).
        ticket_incident = session.get(Incident, (ctx.tenant_id, sample.incident_ids[0]))
        ticket_incident.evidence = dict(ticket_incident.evidence, pages=[{"path": "/invoices", "sessions": 9,
                                                                          "users": 8}])
        ticket_incident.llm_summary = "Customers get a blank invoice PDF <b>since</b> the release."  # as Claude's
        session.commit()
    _notifications(ctx, sample.incident_ids[0], now)
    write_account_history(ctx.db, ctx.tenant_id, now, surge_org="9007", silent_account=MARKUP_ACCOUNT,
                          names={"9007": "Kestrel <b>Logistics</b>"})
    return {"incident_id": sample.incident_ids[0], "incident_ids": sample.incident_ids, "xss_ticket_id": sample.xss_ticket_id,
            "friction_incident_id": friction_id}
