"""Nine days of Zendesk tickets in the event log, sent as history (so nothing was opened live): four
topics with a daily cycle, and on the last night a burst of invoice tickets from ten customers. A backtest under the stored settings finds the burst; with spikes off it does not.

Two topics the model kept apart under the same label (written directly, ids far above the detector's)
are the dashboard's: one seen a minute ago, one two days ago.

Returns ``tickets`` (how many were logged) and ``last_ticket_at``.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

from server.eventlog import SqlEventLog
from server.eventlog.log import NewEvent
from server.topics.models import Topic

SUBJECTS = {
    1: ("Password reset email never arrives", "I asked for a password reset link but no email came."),
    2: ("Invoice PDF is blank", "The invoice PDF download shows an empty page."),
    3: ("Cannot export report to CSV", "Export to CSV spins forever and never downloads."),
    4: ("How do I add a team member", "Where do I invite a colleague to our workspace?"),
}
RATES = {1: 40.0, 2: 12.0, 3: 6.0, 4: 20.0}


def _event(ticket_id: int, topic: int, at: datetime, requester: str) -> dict:
    default, body = SUBJECTS[topic]
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"ev-{ticket_id}",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": str(ticket_id), "subject": default, "description": f"{body} (ref {ticket_id})",
                       "status": "NEW", "requester_id": requester, "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "via": {"channel": "web"}},
            "event": {}}


def seed(ctx):  # noqa: ANN001, ANN201
    rng = random.Random(3)
    now = datetime.now(timezone.utc)
    start = (now - timedelta(days=9)).replace(minute=0, second=0, microsecond=0)
    items, n = [], 1000
    for h in range(9 * 24 - 2):
        hour = start + timedelta(hours=h)
        shape = 0.3 + 1.7 * math.exp(-((hour.hour - 14) / 4.0) ** 2)
        for topic, per_day in RATES.items():
            for _ in range(sum(1 for _ in range(40) if rng.random() < per_day / 24 * shape / 40)):
                n += 1
                at = hour + timedelta(seconds=rng.uniform(0, 3599))
                items.append((at, _event(n, topic, at, str(rng.randint(1, 10_000)))))
    burst = start + timedelta(days=8, hours=3)
    for i in range(10):
        n += 1
        at = burst + timedelta(minutes=3 * i)
        items.append((at, _event(n, 2, at, str(50_000 + i))))
    items.sort(key=lambda x: x[0])
    log = SqlEventLog()
    with ctx.db.session() as session:
        for at, body in items:  # received a month late: history, not live
            log.append(session, ctx.tenant_id, [NewEvent("zendesk", "zendesk.ticket.created", body["id"], at, body)],
                       now + timedelta(seconds=1))
        for topic_id, ago in ((9001, timedelta(minutes=1)), (9002, timedelta(days=2))):
            session.add(Topic(tenant_id=ctx.tenant_id, id=topic_id, label="refund · duplicate charge · card",
                              keywords=["refund", "duplicate charge", "card"], summary="", size=500 + topic_id % 2,
                              representatives=[], first_seen_at=now - timedelta(days=5), last_seen_at=now - ago,
                              updated_at=now))
        session.commit()
    return {"tickets": len(items), "last_ticket_at": items[-1][0].isoformat()}
