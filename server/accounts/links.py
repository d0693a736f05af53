"""Which Zendesk organization a product account belongs to, learnt from the tickets its users wrote.

The widget names product accounts by the product's own id (``accountId``); Zendesk names customers
by organization. The two meet where a ticket's requester had widget sessions before writing
(``widget_ticket_sessions``): that ticket's organization and those sessions' accounts. An account is
linked to an organization when at least :data:`MIN_TICKETS` of its linked tickets came from that
organization and they are at least :data:`MIN_SHARE` of its linked tickets that carry one, so a
support contractor writing for several customers links none of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.topics.models import Ticket
from server.widget.models import WidgetSession, WidgetTicketSessions

MIN_TICKETS = 2
MIN_SHARE = 0.8
#: How far back tickets are read, and how many at most (newest first).
LOOKBACK = timedelta(days=90)
MAX_TICKETS = 20_000
_CHUNK = 500


@dataclass(frozen=True)
class Link:
    organization_id: str
    tickets: int
    share: float


def decide(counts: Counter) -> Link | None:
    """The organization a product account's linked tickets point to, per the rule above.

    >>> decide(Counter({"900002": 5, "900007": 1}))
    Link(organization_id='900002', tickets=5, share=0.833)
    >>> decide(Counter({"900002": 3, "900007": 2})) is None, decide(Counter({"900002": 1})) is None
    (True, True)
    """
    if not counts:
        return None
    org, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    share = n / sum(counts.values())
    if n < MIN_TICKETS or share < MIN_SHARE:
        return None
    return Link(org, n, round(share, 3))


def account_organizations(session: Session, tenant_id: int, account_ids: Iterable[str], *,
                          now: datetime) -> dict[str, Link]:
    """Product account id -> its :class:`Link`, for those of ``account_ids`` that have one."""
    wanted = {str(a) for a in account_ids if a}
    if not wanted:
        return {}
    since = now - LOOKBACK
    account_of: dict[str, str] = {}  # session -> its (wanted) account
    ids = sorted(wanted)
    for start in range(0, len(ids), _CHUNK):
        account_of.update((str(sid), str(acc)) for sid, acc in session.execute(
            select(WidgetSession.session_id, WidgetSession.account_id).where(
                WidgetSession.tenant_id == tenant_id, WidgetSession.account_id.in_(ids[start:start + _CHUNK]),
                WidgetSession.last_seen_at >= since - timedelta(days=1))))
    if not account_of:
        return {}
    rows = session.execute(select(WidgetTicketSessions.zendesk_id, WidgetTicketSessions.session_ids).where(
        WidgetTicketSessions.tenant_id == tenant_id, WidgetTicketSessions.ticket_at >= since,
        WidgetTicketSessions.ticket_at <= now).order_by(WidgetTicketSessions.ticket_at.desc()).limit(MAX_TICKETS))
    accounts_of: dict[str, set[str]] = {}  # ticket -> the wanted accounts of its requester's sessions
    for zendesk_id, session_ids in rows:
        found = {account_of[str(sid)] for sid in session_ids or [] if str(sid) in account_of}
        if found:
            accounts_of[str(zendesk_id)] = found
    counts: dict[str, Counter] = defaultdict(Counter)
    zids = sorted(accounts_of)
    for start in range(0, len(zids), _CHUNK):
        for zendesk_id, org in session.execute(select(Ticket.zendesk_id, Ticket.organization_id).where(
                Ticket.tenant_id == tenant_id, Ticket.zendesk_id.in_(zids[start:start + _CHUNK]),
                Ticket.organization_id.is_not(None))):
            for account in accounts_of[str(zendesk_id)]:
                counts[account][str(org)] += 1
    return {a: link for a, c in counts.items() if (link := decide(c)) is not None}
