"""The understanding stage end to end in the detector: webhook payloads in, tickets and topics out."""

from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import Organization
from server.eventlog import SqlEventLog
from server.pipeline import Runner
from server.pipeline.registry import stage_factory
from server.topics.models import Ticket, Topic
from tests.conftest import post_zendesk, zendesk_event
from tests.understand.fakes import HashingEmbedder

TICKETS = [
    ("Invoice PDF is blank", "<p>When I download invoice INV-20391 the PDF is blank.</p><p>Mail me at ana@example.com</p>"),
    ("Blank invoice PDF", "The invoice PDF download shows a blank page, every page is blank."),
    ("Password reset email never arrives", "I requested a password reset email three times, nothing arrives."),
    ("Reset password email missing", "No password reset email arrives, not even in spam."),
    ("Invoice download blank", "Downloaded invoice PDF is blank again."),
]


def deliver(client, tenant, creds, start=100):
    for i, (subject, body) in enumerate(TICKETS):
        payload = zendesk_event(start + i)
        payload["detail"].update(subject=subject, description=body)
        assert post_zendesk(client, tenant.slug, creds.webhook_secret, payload).status_code == 202


def run(app, embedder=None):
    db = app.extensions["groundswell.db"]
    factory = stage_factory(db, embed=(embedder or HashingEmbedder()).embed, topic_params={"assign_threshold": 0.3})
    return Runner(db, SqlEventLog(), factory).run_until_idle()


def test_tickets_are_parsed_redacted_and_placed_in_topics(app, client, db, tenant):
    t, creds = tenant
    deliver(client, t, creds)
    embedder = HashingEmbedder()
    assert run(app, embedder) == len(TICKETS)
    assert embedder.calls == [len(TICKETS)]  # one batch for the whole read
    with db.session() as s:
        tickets = {x.zendesk_id: x for x in s.scalars(select(Ticket).where(Ticket.tenant_id == t.id))}
        topics = {x.id: x for x in s.scalars(select(Topic).where(Topic.tenant_id == t.id))}
    assert set(tickets) == {"100", "101", "102", "103", "104"}
    first = tickets["100"]
    assert "ana@example.com" not in (first.excerpt or "") and "[email]" in first.excerpt
    assert "<p>" not in first.excerpt and "INV-20391" in first.excerpt
    assert first.status == "new" and first.redactions == {"email": 1}
    invoice = {tickets[i].topic_id for i in ("100", "101", "104")}
    password = {tickets[i].topic_id for i in ("102", "103")}
    assert len(invoice) == 1 and len(password) == 1 and invoice != password
    live = {k: v for k, v in topics.items() if v.merged_into is None}
    assert sum(v.size for v in live.values()) == len(TICKETS)
    assert "invoice" in topics[invoice.pop()].label


def test_redelivery_and_updates_do_not_double_count(app, client, db, tenant):
    t, creds = tenant
    deliver(client, t, creds)
    run(app)
    # The same tickets again under new event ids (as a backfill would bring them), then a status change.
    deliver(client, t, creds)
    change = zendesk_event(100)
    change.update(type="zen:event-type:ticket.status_changed")
    change["detail"].update(status="SOLVED", updated_at="2026-01-02T00:00:00Z")
    post_zendesk(client, t.slug, creds.webhook_secret, change)
    run(app)
    with db.session() as s:
        sizes = sum(x.size for x in s.scalars(select(Topic).where(Topic.tenant_id == t.id, Topic.merged_into.is_(None))))
        solved = s.get(Ticket, (t.id, "100"))
    assert sizes == len(TICKETS)
    assert solved.status == "solved" and solved.topic_id is not None


def test_agent_names_survive_topic_updates(app, client, db, tenant):
    t, creds = tenant
    deliver(client, t, creds)
    run(app)
    with db.session() as s:
        topic_id = s.get(Ticket, (t.id, "100")).topic_id
        s.get(Topic, (t.id, topic_id)).name = "Blank invoice PDFs"
        s.commit()
    deliver(client, t, creds, start=200)
    run(app)
    with db.session() as s:
        topic = s.get(Topic, (t.id, topic_id))
        assert topic.name == "Blank invoice PDFs" and topic.size > 3


def test_topic_ids_survive_a_restart(app, client, db, tenant):
    t, creds = tenant
    deliver(client, t, creds)
    run(app)
    with db.session() as s:
        before = {x.zendesk_id: x.topic_id for x in s.scalars(select(Ticket))}
    deliver(client, t, creds, start=300)
    run(app)  # a new runner: restored from the checkpoint
    with db.session() as s:
        after = {x.zendesk_id: x.topic_id for x in s.scalars(select(Ticket))}
    assert {k: after[k] for k in before} == before
    assert after["300"] == after["100"] and after["302"] == after["102"]


def test_trigger_tickets_without_a_time_get_the_event_time(app, client, db, tenant):
    t, creds = tenant
    payload = {"ticket_id": "555", "event": "created", "subject": "Slack notifications stopped",
               "description": "Our Slack integration stopped posting yesterday."}
    assert post_zendesk(client, t.slug, creds.webhook_secret, payload, invocation="inv-555").status_code == 202
    run(app)
    with db.session() as s:
        ticket = s.get(Ticket, (t.id, "555"))
    assert ticket.created_at is not None and ticket.topic_id is not None


def test_trigger_bodies_teach_organization_names(app, client, db, tenant):
    t, creds = tenant
    bodies = [
        {"ticket_id": "601", "event": "created", "subject": "SSO login fails", "organization_id": "900002",
         "organization_name": "Kestrel Logistics", "created_at": "2026-03-02T10:00:00Z"},
        {"ticket_id": "602", "event": "created", "subject": "SSO again", "organization_id": "900003",
         "organization_name": "{{ticket.organization.name}}", "created_at": "2026-03-02T10:01:00Z"},  # unrendered
        {"ticket_id": "603", "event": "created", "subject": "No org", "organization_name": "Orphan name",
         "created_at": "2026-03-02T10:02:00Z"},  # a name without an id says nothing
    ]
    for i, body in enumerate(bodies):
        assert post_zendesk(client, t.slug, creds.webhook_secret, body, invocation=f"org-{i}").status_code == 202
    run(app)
    renamed = {"ticket_id": "604", "event": "created", "subject": "SSO still", "organization_id": "900002",
               "organization_name": "Kestrel Logistics GmbH", "created_at": "2026-03-02T11:00:00Z"}
    assert post_zendesk(client, t.slug, creds.webhook_secret, renamed, invocation="org-3").status_code == 202
    run(app)
    with db.session() as s:
        names = {(o.tenant_id, o.zendesk_id): o.name for o in s.scalars(select(Organization))}
        assert s.get(Ticket, (t.id, "601")).organization_id == "900002"
    assert names == {(t.id, "900002"): "Kestrel Logistics GmbH"}


def test_an_organizations_name_in_its_tickets_neither_splits_the_topic_nor_names_it():
    """Each customer writes its own name into the same request: the tickets are placed as one topic, and its
    label and keywords hold no customer's name (the stored text keeps it)."""
    from datetime import datetime, timezone

    from server.eventlog.log import LoggedEvent
    from server.understand.stage import UnderstandStage

    orgs = ["Hollis Legal", "Pico Studio", "Tidewater Schools", "Orbit Fitness"]
    stage = UnderstandStage(HashingEmbedder().embed, topic_params={"assign_threshold": 0.5})
    at = datetime(2026, 3, 2, tzinfo=timezone.utc)
    events = []
    for i in range(24):
        org = orgs[i % 4]
        body = {"ticket_id": str(500 + i), "event": "created", "organization_id": str(900 + i % 4),
                "organization_name": org, "subject": f"Downgrade {org}",
                "description": f"Please downgrade {org} from pro to starter from next month."}
        events.append(LoggedEvent(i + 1, 1, "zendesk", "zendesk.trigger", str(i), at, at, body))
    stage.apply_batch(events)
    model = stage.models[1]
    placed = {p.topic_id for p in stage.take_placements()}
    assert len({model.resolve(t) for t in placed}) == 1
    (topic,) = [t for t in model.topics.values() if t.size]
    words = " ".join([*topic.sticky.terms, *(k for k, _ in topic.terms.items())]).lower()
    assert not any(w in words for w in ("hollis", "pico", "tidewater", "orbit", "organization")), words
    assert "downgrade" in words
    rows = [row for _kind, _key, row in stage.outputs() if "excerpt" in row]
    assert any("Hollis Legal" in row["excerpt"] for row in rows)  # the ticket's own text is kept
