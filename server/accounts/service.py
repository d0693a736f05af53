"""Accounts whose support or product usage changed, read from stored tickets and widget sessions.

Two kinds of account, as the data names them: a Zendesk **organization** (its tickets) and a product
**account** (the widget's ``account_id``: its sessions and its active users). The report compares the
last ``days`` days with ``weeks`` windows of the same length before them, a week apart when shorter than
a week (see
:mod:`server.accounts.changes` for the test). It is computed when asked, from a fixed number of
grouped, indexed queries (one per window and source), so it follows what the database holds now.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, MutableMapping

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from server.accounts.changes import Flag, flag_changes
from server.accounts.links import account_organizations
from server.accounts.models import AccountReport, Organization
from server.db import Database, get_or_add
from server.eventlog.log import as_utc
from server.tenants import Tenant
from server.topics.models import Ticket
from server.widget.models import WidgetSession

#: Which source each signal is counted from.
SOURCES = {"tickets": "organization", "sessions": "account", "users": "account"}
NOUNS = {"tickets": "tickets", "sessions": "sessions", "users": "active users"}
LABELS = {
    ("tickets", "up"): "More tickets than usual",
    ("tickets", "down"): "Fewer tickets than usual",
    ("sessions", "up"): "Expansion signal: more sessions",
    ("sessions", "down"): "Churn risk: fewer sessions",
    ("users", "up"): "Expansion signal: more active users",
    ("users", "down"): "Churn risk: fewer active users",
}
#: Most flags returned.
MAX_FLAGS = 200


def _windows(now: datetime, days: int, weeks: int) -> list[tuple[datetime, datetime]]:
    """``weeks`` past windows then the current one, each ``days`` long, oldest first. Windows shorter than
    a week repeat a week apart (the same days of the week: a Monday is judged against Mondays); a week or
    longer, they follow one another."""
    end = now.astimezone(timezone.utc)
    span = timedelta(days=days)
    step = timedelta(days=7) if days < 7 else span
    return [(end - step * (weeks - i) - span, end - step * (weeks - i)) for i in range(weeks + 1)]


def _ticket_counts(session: Session, tenant_id: int, start: datetime,
                   end: datetime) -> dict[str, tuple[int, int]]:
    rows = session.execute(
        select(Ticket.organization_id, func.count(), func.count(distinct(Ticket.requester_id)))
        .where(Ticket.tenant_id == tenant_id, Ticket.created_at >= start, Ticket.created_at < end,
               Ticket.organization_id.is_not(None))
        .group_by(Ticket.organization_id))
    return {str(org): (int(n), int(people)) for org, n, people in rows}


def _session_counts(session: Session, tenant_id: int, start: datetime,
                    end: datetime) -> dict[str, tuple[int, int]]:
    rows = session.execute(
        select(WidgetSession.account_id, func.count(), func.count(distinct(WidgetSession.user_id)))
        .where(WidgetSession.tenant_id == tenant_id, WidgetSession.last_seen_at >= start,
               WidgetSession.last_seen_at < end, WidgetSession.account_id.is_not(None))
        .group_by(WidgetSession.account_id))
    return {str(acc): (int(n), int(users)) for acc, n, users in rows}


def _series(per_window: list[dict[str, tuple[int, int]]], index: int) -> dict[str, tuple[int, list[int]]]:
    """account -> (this window's count, past windows' counts), from ``(count, distinct)`` pairs."""
    accounts = set().union(*per_window)
    return {a: (per_window[-1].get(a, (0, 0))[index], [w.get(a, (0, 0))[index] for w in per_window[:-1]])
            for a in accounts}


def _totals(series: dict[str, tuple[int, list[int]]], weeks: int) -> tuple[int, list[int]]:
    return (sum(x for x, _ in series.values()),
            [sum(base[k] for _, base in series.values()) for k in range(weeks)])


def change_text(direction: str, ratio: float | None) -> str:
    """A flag's change in words: "2.7x" up, "-92%" down, "new" without a past.

    >>> change_text("up", 2.718), change_text("down", 0.08), change_text("up", None)
    ('2.7x', '-92%', 'new')
    """
    if ratio is None:
        return "new"
    return f"{ratio:.1f}x" if direction == "up" else f"{100 * (ratio - 1):+.0f}%"


def organization_names(session: Session, tenant_id: int, ids: Iterable[str]) -> dict[str, str]:
    """Zendesk organization id -> name, for the ids whose name a ticket payload has carried."""
    wanted = sorted({str(i) for i in ids if i})
    names: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        rows = session.execute(select(Organization.zendesk_id, Organization.name).where(
            Organization.tenant_id == tenant_id, Organization.zendesk_id.in_(wanted[start:start + 500])))
        names.update({str(z): n for z, n in rows})
    return names


def _sentence(flag: Flag, days: int, extra: int | None, name: str | None = None,
              organization_id: str | None = None) -> str:
    """The flag in words; a product account linked to an organization names it (``name`` is then the
    organization's)."""
    who = "Organization" if SOURCES[flag.signal] == "organization" else "Account"
    change = change_text(flag.direction, flag.ratio if flag.expected > 0 else None)
    span = "day" if days == 1 else f"{days} days"
    if organization_id is not None:
        owner = f"{name}, organization {organization_id}" if name else f"organization {organization_id}"
        account = f"{flag.account} ({owner})"
    else:
        account = f"{name} ({flag.account})" if name else flag.account
    text = (f"{who} {account}: {flag.observed} {NOUNS[flag.signal]} in the last {span}, "
            f"expected {flag.expected:.1f} at the tenant's volume ({change})")
    if flag.signal == "tickets" and extra is not None and flag.observed:
        text += f", from {extra} {'person' if extra == 1 else 'people'}"
    return text + "."


def account_changes(session: Session, tenant_id: int, *, now: datetime, days: int = 7, weeks: int = 8,
                    fdr: float = 0.05, min_ratio: float = 1.5) -> dict[str, Any]:
    """The report: flagged accounts (most significant first) and what was tested."""
    windows = _windows(now, days, weeks)
    tickets = [_ticket_counts(session, tenant_id, a, b) for a, b in windows]
    sessions = [_session_counts(session, tenant_id, a, b) for a, b in windows]
    signals = {"tickets": _series(tickets, 0), "sessions": _series(sessions, 0), "users": _series(sessions, 1)}
    totals = {name: _totals(s, weeks) for name, s in signals.items()}
    report = flag_changes(signals, totals, fdr=fdr, min_ratio=min_ratio)
    flags = report.flags[:MAX_FLAGS]
    links = account_organizations(session, tenant_id, (f.account for f in flags if SOURCES[f.signal] == "account"),
                                  now=now)
    names = organization_names(session, tenant_id, [f.account for f in flags if SOURCES[f.signal] == "organization"]
                               + [link.organization_id for link in links.values()])
    out = []
    for flag in flags:
        people = tickets[-1].get(flag.account, (0, 0))[1] if flag.signal == "tickets" else None
        link = links.get(flag.account) if SOURCES[flag.signal] == "account" else None
        org = link.organization_id if link is not None else None
        name = names.get(flag.account) if SOURCES[flag.signal] == "organization" else names.get(org or "")
        out.append({
            "account_id": flag.account, "name": name, "organization_id": org, "source": SOURCES[flag.signal],
            "signal": flag.signal,
            "direction": flag.direction, "label": LABELS[(flag.signal, flag.direction)],
            "observed": flag.observed, "expected": round(flag.expected, 2),
            "ratio": None if flag.expected <= 0 else round(flag.observed / flag.expected, 3),
            "p_value": flag.p_value, "q_value": flag.q_value, "history": list(flag.history),
            "requesters": people, "sentence": _sentence(flag, days, people, name, org),
        })
    return {
        "window_start": windows[-1][0], "window_end": windows[-1][1], "days": days, "weeks": weeks, "fdr": fdr,
        "min_ratio": min_ratio,
        "tested": dict(report.tested),
        "totals": {name: {"observed": t[0], "history": list(t[1])} for name, t in totals.items()},
        "dispersion": {k: round(v, 3) for k, v in report.dispersion.items()},
        "accounts": out,
    }


#: Seconds a tenant's reports are reused for the sidebar's per-ticket note (each report reads every account).
NOTE_TTL = 300.0
#: The windows the sidebar's note looks at, shortest first: a day against the same weekday, then a week.
NOTE_WINDOWS = (1, 7)
#: Reports kept at most (tenants x windows); past it the cache starts afresh.
MAX_CACHED = 2000
#: The detector stores the note's reports every ACCOUNTS_REPORT_SECONDS; a stored one older than this is
#: not trusted (the detector is not running) and the note computes its own.
NOTE_STALE = 900.0


def refresh_reports(session: Session, tenant_id: int, *, now: datetime) -> None:
    """Compute the tenant's reports over :data:`NOTE_WINDOWS` and store their flags (the detector's
    periodic pass), so that the sidebar's note reads a row instead of every account's counts."""
    for days in NOTE_WINDOWS:
        flags = account_changes(session, tenant_id, now=now, days=days)["accounts"]
        row = get_or_add(session, AccountReport, (tenant_id, days), tenant_id=tenant_id, days=days)
        row.computed_at, row.accounts = now, flags
    session.commit()


def refresh_all_reports(db: Database, *, partition: tuple[int, int] = (0, 1), now: datetime | None = None) -> int:
    """:func:`refresh_reports` for every tenant of the detector's partition; how many tenants."""
    index, count = partition
    with db.session() as session:
        ids = [i for i in session.scalars(select(Tenant.id).order_by(Tenant.id)) if i % count == index]
        for tenant_id in ids:
            refresh_reports(session, tenant_id, now=now or datetime.now(timezone.utc))
    return len(ids)


def _stored_flags(session: Session, tenant_id: int, now: datetime) -> dict[int, list[dict[str, Any]]]:
    rows = session.scalars(select(AccountReport).where(AccountReport.tenant_id == tenant_id,
                                                       AccountReport.days.in_(NOTE_WINDOWS)))
    fresh = {}
    for row in rows:
        if abs((now - as_utc(row.computed_at)).total_seconds()) < NOTE_STALE:
            fresh[row.days] = row.accounts
    return fresh


def account_note(session: Session, tenant_id: int, organization_id: str | None, *, now: datetime,
                 account_ids: Iterable[str] = (),
                 cache: MutableMapping[tuple[int, int], tuple[float, dict[str, Any]]] | None = None,
                 clock: Any = time.monotonic) -> dict[str, Any] | None:
    """The ticket's Zendesk organization, or one of the requester's product accounts (``account_ids``, from
    their widget sessions), as the accounts report flags it: the most significant flag of the day and week
    windows, with ``days``; None when none is flagged. The reports are those the detector stored (younger
    than :data:`NOTE_STALE`); without them they are computed here and kept in ``cache`` for
    :data:`NOTE_TTL` seconds per tenant and window, so a sidebar opening many tickets computes them once."""
    wanted = {("account", str(a)) for a in account_ids if a}
    if organization_id:
        wanted.add(("organization", str(organization_id)))
    if not wanted:
        return None
    best = None
    stored = _stored_flags(session, tenant_id, now)
    for days in NOTE_WINDOWS:
        key = (tenant_id, days)
        hit = cache.get(key) if cache is not None else None
        if days in stored:
            flags = stored[days]
        elif hit is not None and clock() - hit[0] < NOTE_TTL:
            flags = hit[1]["accounts"]
        else:
            report = account_changes(session, tenant_id, now=now, days=days)
            flags = report["accounts"]
            if cache is not None:
                if len(cache) >= MAX_CACHED:
                    cache.clear()
                cache[key] = (clock(), report)
        for flag in flags:
            if (flag["source"], flag["account_id"]) in wanted:
                if best is None or flag["p_value"] < best["p_value"]:
                    best = {**flag, "days": days}
    return best

