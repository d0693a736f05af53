"""Product accounts linked to Zendesk organizations through the tickets their users wrote after widget
sessions, and the accounts report naming them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.accounts.links import account_organizations
from server.accounts.models import Organization
from server.accounts.service import account_changes
from server.topics.models import Ticket
from server.widget.models import WidgetSession, WidgetTicketSessions
from tests.accounts.test_api import add_history

NOW = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


def link_tickets(db, tenant_id: int, account: str, orgs: list[str | None], *, start: int = 10_000,
                 at: datetime = NOW - timedelta(days=3)) -> None:
    """One ticket per entry of ``orgs`` (None: a ticket without an organization), each after a widget
    session of ``account``."""
    with db.session() as s:
        for i, org in enumerate(orgs):
            zid, sid = str(start + i), f"link-{account}-{start + i}"
            s.add(Ticket(tenant_id=tenant_id, zendesk_id=zid, subject="x", organization_id=org, requester_id="r",
                         created_at=at))
            s.add(WidgetSession(tenant_id=tenant_id, session_id=sid, user_id="u", account_id=account,
                                started_at=at - timedelta(minutes=30), last_seen_at=at - timedelta(minutes=5),
                                last_path="/", features={}, p_ticket=None, stuck_pages=[], model_ready=False,
                                outcome=None, ticket_at=None, updated_at=at))
            s.add(WidgetTicketSessions(tenant_id=tenant_id, zendesk_id=zid, session_ids=[sid], ticket_at=at,
                                       updated_at=at))
        s.commit()


def test_an_account_is_linked_to_the_organization_most_of_its_tickets_come_from(db, make_tenant):
    t, _ = make_tenant("Acme")
    other, _ = make_tenant("Other")
    link_tickets(db, t.id, "acct_9", ["900002", "900002", "900002", "900002", "900007", None])
    link_tickets(db, t.id, "acct_contractor", ["900002", "900007", "900011"], start=20_000)
    link_tickets(db, t.id, "acct_once", ["900002"], start=30_000)
    link_tickets(db, t.id, "acct_old", ["900002", "900002"], start=40_000, at=NOW - timedelta(days=120))
    link_tickets(db, other.id, "acct_9", ["555", "555", "555"], start=50_000)  # another tenant's tickets
    with db.session() as s:
        links = account_organizations(s, t.id, ["acct_9", "acct_contractor", "acct_once", "acct_old", "acct_none"],
                                      now=NOW)
    assert set(links) == {"acct_9"}
    assert (links["acct_9"].organization_id, links["acct_9"].tickets, links["acct_9"].share) == ("900002", 4, 0.8)


def test_the_report_names_a_silent_accounts_organization(db, make_tenant):
    t, _ = make_tenant("Acme")
    add_history(db, t.id, NOW, quiet_account="acc3", seed=3)
    link_tickets(db, t.id, "acc3", ["900002"] * 3, at=NOW - timedelta(days=20))
    with db.session() as s:
        s.add(Organization(tenant_id=t.id, zendesk_id="900002", name="Kestrel <Logistics>", updated_at=NOW))
        s.commit()
        report = account_changes(s, t.id, now=NOW)
    acc3 = next(a for a in report["accounts"] if a["account_id"] == "acc3" and a["signal"] == "users")
    assert acc3["organization_id"] == "900002" and acc3["name"] == "Kestrel <Logistics>"
    assert acc3["sentence"].startswith("Account acc3 (Kestrel <Logistics>, organization 900002): ")
    others = [a for a in report["accounts"] if a["account_id"] != "acc3"]
    assert all(a["organization_id"] is None for a in others)
