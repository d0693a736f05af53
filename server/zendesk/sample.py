"""Sample sidebar data for the demo, the browser tests and the sidebar benchmark.

Writes topics, tickets, incidents, their attached tickets and hourly volume through the detector's
own writers (`server.topics.writers`, `server.incidents.writers`), and builds each incident's row
with the detection engine's own snapshot (title, sentence, evidence), so what the read side serves
from it is what it serves from a real detector. Deterministic for a given ``seed``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from server.accounts.models import Organization
from server.db import Database
from server.incidents.engine import Engine, IncidentState
from server.incidents.writers import write_incident, write_incident_ticket, write_volume_point
from server.topics.models import Ticket
from server.topics.writers import write_ticket, write_topic
from server.widget.features import SessionFeatures
from server.widget.models import WidgetDecision, WidgetSession, WidgetSettings
from server.widget.writers import write_ticket_sessions, write_widget_session

XSS = "<img src=x onerror=alert(1)>"
#: The help nudge the sample's stuck session was shown.
INVOICE_NUDGE = {"id": "invoice-pdf", "match": "/invoices*", "title": "Invoice PDF not downloading?",
                 "body": "Open the invoice and choose Print, then Save as PDF while we look into it."}

_THEMES = [
    ("invoice pdf · blank", ["invoice", "pdf", "blank", "download"], "The invoice PDF downloads as a blank page"),
    ("login · two-factor code", ["login", "2fa", "code", "sms"], "The two-factor code never arrives by SMS"),
    ("export · csv timeout", ["export", "csv", "timeout", "report"], "CSV export times out on large reports"),
    ("webhook · retries", ["webhook", "retry", "delivery", "failed"], "Webhook deliveries fail and are not retried"),
    ("mobile app · crash", ["mobile", "crash", "ios", "launch"], "The iOS app crashes at launch"),
    ("billing · double charge", ["billing", "charged", "twice", "card"], "My card was charged twice this month"),
]


@dataclass
class Sample:
    """Ids of what was written."""

    topic_ids: list[int] = field(default_factory=list)
    incident_ids: list[int] = field(default_factory=list)
    ticket_ids: list[str] = field(default_factory=list)
    incident_tickets: dict[int, list[str]] = field(default_factory=dict)
    plain_ticket_id: str | None = None
    xss_ticket_id: str | None = None
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def write_sample(db: Database, tenant_id: int, *, now: datetime, topics: int = 3, tickets_per_topic: int = 40,
                 incidents: int = 1, tickets_per_incident: int = 17, history_hours: int = 72, first_ticket_id: int = 1001,
                 xss: bool = True, seed: int = 7) -> Sample:
    """Write ``topics`` topics with ``tickets_per_topic`` tickets each and ``incidents`` open incidents.

    Incident ``k`` (1-based) is a spike of topic ``k`` (so ``incidents <= topics``) whose last
    ``tickets_per_incident`` tickets are attached to it. The last topic keeps no incident when
    ``incidents < topics``; its newest ticket is `Sample.plain_ticket_id`. With ``xss`` the newest
    ticket of incident 1 has the subject and text ``<img src=x onerror=alert(1)>`` and is among
    the incident's and the topic's representatives.
    """
    if incidents > topics:
        raise ValueError("at most one incident per topic")
    rng = random.Random(seed)
    now = now.astimezone(timezone.utc)
    sample = Sample()
    next_id = first_ticket_id
    engine = Engine()
    with db.session() as session:
        for k in range(1, topics + 1):
            label, keywords, subject = _THEMES[(k - 1) % len(_THEMES)]
            if k > len(_THEMES):
                label = f"{label} ({k})"
            has_incident = k <= incidents
            surge = tickets_per_incident if has_incident else 0
            calm = max(0, tickets_per_topic - surge)
            times = sorted(now - timedelta(minutes=rng.uniform(150, history_hours * 60)) for _ in range(calm))
            times += sorted(now - timedelta(minutes=rng.uniform(5, 120)) for _ in range(surge))
            ids = []
            for i, at in enumerate(times):
                zid = str(next_id)
                next_id += 1
                ids.append(zid)
                text = f"{subject} (report {i + 1})"
                if xss and k == 1 and i == len(times) - 1:
                    text = XSS
                row = {"subject": text, "excerpt": text if text == XSS else f"{text}. Please help, it blocks our team.",
                       "redactions": {}, "requester_id": str(80000 + next_id), "requester_email_sha256": None,
                       "organization_id": str(500 + rng.randrange(40)), "tags": keywords[:2], "channel": "web",
                       "brand_id": None, "locale": "en-US", "custom_fields": {}, "status": "open",
                       "priority": "normal", "type": "question", "group_id": None, "problem_id": None,
                       "created_at": at, "updated_at": at, "solved_at": None, "topic_id": k,
                       "assigned_topic_id": k, "topic_similarity": round(rng.uniform(0.55, 0.9), 3)}
                write_ticket(session, (tenant_id, zid), row, now)
                sample.tickets[zid] = row
            reps = [{"ticket_id": z, "similarity": sample.tickets[z]["topic_similarity"],
                     "text": sample.tickets[z]["excerpt"]} for z in reversed(ids[-3:])]
            write_topic(session, (tenant_id, k), {
                "label": label, "keywords": keywords, "summary": f"{', '.join(keywords)}. e.g. \"{subject}\"",
                "size": len(ids), "representatives": reps, "first_seen_at": times[0] if times else now,
                "last_seen_at": times[-1] if times else now, "merged_into": None}, now)
            sample.topic_ids.append(k)
            sample.ticket_ids += ids
            series = f"topic:{k}"
            baseline = {"expected": round(calm / history_hours, 4), "lower": 0.0,
                        "upper": float(max(2, round(calm / history_hours * 3)))}
            for h in range(history_hours, 0, -1):
                start = _hour(now) - timedelta(hours=h)
                count = sum(1 for t in times if start <= t < start + timedelta(hours=1))
                write_volume_point(session, (tenant_id, series, start.timestamp()),
                                   {"tickets": count, "requesters": count, **baseline}, now)
            if has_incident:
                attached = ids[-surge:]
                first_seen = sample.tickets[attached[0]]["created_at"]
                so_far = sum(1 for t in times if t >= _hour(now))
                hour_so_far = {"start": _hour(now).isoformat(), "as_of": now.isoformat(), "tickets": so_far,
                               "requesters": so_far, **baseline}
                inc = IncidentState(
                    id=k, kind="spike", series=series, topic_id=k, first_seen_at=first_seen,
                    detected_at=first_seen + timedelta(minutes=25), last_activity_at=times[-1],
                    ticket_ids=attached, requesters={sample.tickets[z]["requester_id"] for z in attached},
                    accounts={sample.tickets[z]["organization_id"] for z in attached}, p_value=2e-7,
                    evidence={"observed": len(attached), "expected": round(calm / history_hours * 2, 3), "lower": 0,
                              "upper": 4, "window_minutes": 120, "p_value": 2e-7, "surprise": 6.7, "direction": "up",
                              "measure": "customers", "segments": [], "top_terms": keywords, "topic_label": label,
                              "release": None, "window_tickets": len(attached), "hour_so_far": hour_so_far},
                    representatives=[{"ticket_id": z, "text": sample.tickets[z]["excerpt"][:300]}
                                     for z in reversed(attached[-3:])])
                write_incident(session, (tenant_id, k), engine.snapshot(inc), now)
                for z in attached:
                    write_incident_ticket(session, (tenant_id, k, z), {"attached_at": sample.tickets[z]["created_at"]},
                                          now)
                sample.incident_ids.append(k)
                sample.incident_tickets[k] = attached
            elif sample.plain_ticket_id is None and ids:
                sample.plain_ticket_id = ids[-1]
        session.commit()
    if xss and incidents:
        sample.xss_ticket_id = sample.incident_tickets[1][-1]
    return sample


def rest_ticket(zendesk_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """The sample ticket as Zendesk's REST API shows it (for the fake Zendesk)."""
    from server.zendesk.fake import make_ticket

    created = row["created_at"].astimezone(timezone.utc)
    ticket = make_ticket(int(zendesk_id), created=created, subject=row["subject"], description=row["excerpt"],
                         tags=row["tags"] or (), ticket_type="question")
    ticket["organization_id"] = int(row["organization_id"]) if row["organization_id"] else None
    return ticket


def write_requester_sessions(db: Database, tenant_id: int, zendesk_id: str, *, ticket_at: datetime,
                             site: str = "https://app.acme.test") -> list[str]:
    """Two widget sessions of the ticket's requester before it, folded from widget events by the
    detector's own feature code and written by its writers: one 25 minutes before, stuck on the invoice
    page (the same PDF request failing three times, then a rage click) and shown the invoice help nudge
    (added to the widget settings when the tenant has none), and a calm one 5 hours before. Returns their
    ids, oldest first."""
    def fold(sid: str, start: datetime, events: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        f = SessionFeatures(sid, started_ms=int(start.timestamp() * 1000))
        f.user_id = f"requester-{zendesk_id}"
        for seconds, ev in events:
            f.add(ev, int(start.timestamp() * 1000) + seconds * 1000)
        return {"user_id": f.user_id, "account_id": None, "started_at": start,
                "last_seen_at": datetime.fromtimestamp(f.last_ms / 1000, tz=timezone.utc), "last_path": f.last_path,
                "features": f.to_json(), "p_ticket": None, "stuck_pages": f.stuck_on(3), "model_ready": False,
                "outcome": "ticket", "ticket_at": ticket_at}

    pdf = {"method": "GET", "path": "/api/invoices/8812/pdf", "status": 502}
    stuck = [(0, {"type": "page_view", "url": f"{site}/invoices"}),
             (20, {"type": "page_view", "url": f"{site}/invoices/8812"}),
             *((30 + 10 * i, {"type": "failed_request", "url": f"{site}/invoices/8812", "data": pdf}) for i in range(3)),
             (65, {"type": "rage_click", "url": f"{site}/invoices/8812", "target": "button#download-pdf"})]
    calm = [(0, {"type": "page_view", "url": f"{site}/dashboard"}), (90, {"type": "page_view", "url": f"{site}/team"})]
    sessions = [(f"{zendesk_id}-a", ticket_at - timedelta(hours=5), calm),
                (f"{zendesk_id}-b", ticket_at - timedelta(minutes=25), stuck)]
    now = datetime.now(timezone.utc)
    with db.session() as session:
        for sid, start, events in sessions:
            write_widget_session(session, (tenant_id, sid), fold(sid, start, events), now)
        write_ticket_sessions(session, (tenant_id, zendesk_id),
                              {"session_ids": [sid for sid, _, _ in sessions], "ticket_at": ticket_at}, now)
        if session.get(WidgetSettings, tenant_id) is None:
            session.add(WidgetSettings(tenant_id=tenant_id, updated_at=now, config={"nudges": [INVOICE_NUDGE]}))
        stuck_sid, stuck_start, _ = sessions[1]
        session.add(WidgetDecision(tenant_id=tenant_id, session_id=stuck_sid, user_id=f"requester-{zendesk_id}",
                                   path="/invoices/:id", reason="nudge", nudge_id=INVOICE_NUDGE["id"],
                                   holdout=False, would_nudge=True, p_ticket=0.71,
                                   decided_at=stuck_start + timedelta(seconds=70)))
        session.commit()
    return [sid for sid, _, _ in sessions]


def write_account_history(db: Database, tenant_id: int, now: datetime, *, surge_org: str | None = None,
                          silent_account: str | None = None, days: int = 22, seed: int = 5,
                          names: dict[str, str] | None = None) -> None:
    """Three weeks of tickets from 20 organizations (``9001``-``9020``, about 3 a day each) and widget
    sessions of 10 product accounts (10 users a day each), for the accounts report: ``surge_org`` (any
    organization id) writes 25 tickets in the last day, ``silent_account`` has no session in it;
    ``names`` are organizations' names as ticket payloads would have taught them."""
    rng = random.Random(seed)
    orgs = [str(9000 + k) for k in range(1, 21)]
    if surge_org and surge_org not in orgs:
        orgs.append(surge_org)
    accounts = [silent_account] if silent_account else []
    accounts += [f"acct-{k}" for k in range(1, 11 - len(accounts))]
    n = 0
    with db.session() as session:
        for day in range(days):
            start = now - timedelta(days=day + 1)
            for org in orgs:
                count = 25 if (day == 0 and org == surge_org) else sum(rng.random() < 0.3 for _ in range(10))
                for _ in range(count):
                    n += 1
                    session.add(Ticket(tenant_id=tenant_id, zendesk_id=str(8_800_000 + n), subject="Account history",
                                       organization_id=org, requester_id=f"r{org}-{n % 4}",
                                       created_at=start + timedelta(seconds=rng.uniform(1, 86399))))
            for account in accounts:
                if day == 0 and account == silent_account:
                    continue
                for u in range(10):
                    at = start + timedelta(seconds=rng.uniform(1, 86399))
                    session.add(WidgetSession(tenant_id=tenant_id, session_id=f"acct-{day}-{account[:20]}-{u}",
                                              user_id=f"{account[:20]}-{u}", account_id=account, started_at=at,
                                              last_seen_at=at, last_path="/", features={}, p_ticket=None,
                                              stuck_pages=[], model_ready=False, outcome=None, ticket_at=None,
                                              updated_at=now))
        for org, name in (names or {}).items():
            session.add(Organization(tenant_id=tenant_id, zendesk_id=org, name=name, updated_at=now))
        session.commit()

