"""The demo's "Accounts that changed" tells the README's story: on the demo's day the one customer whose
people all wrote about their broken SSO sign-in, Kestrel Logistics, and no other organization, whose daily
tickets only vary by chance. Checked on the stream the demo sends (its seed, its 12 hours of sessions and
15 days of tickets, then the live replay a second at a time), with the report's own test and windows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from server.accounts.changes import flag_changes
from server.accounts.service import _windows
from server.demo.replay import SESSION_HISTORY_HOURS, Replayer
from server.demo.run import HISTORY_DAYS
from server.demo.stream import QUIET_ORG

START = datetime(2026, 12, 5, 8, 15, tzinfo=timezone.utc)
SPEED = 8.0


def _flags(tickets: list[tuple[datetime, str]], now: datetime, days: int) -> list[tuple[str, str]]:
    """The organizations the accounts report flags at ``now`` over ``days`` (its default 8 windows before)."""
    windows = _windows(now, days, 8)
    per = [Counter(org for at, org in tickets if a <= at < b) for a, b in windows]
    orgs = set().union(*per)
    counts = {org: (per[-1][org], [w[org] for w in per[:-1]]) for org in orgs}
    totals = (sum(per[-1].values()), [sum(w.values()) for w in per[:-1]])
    return [(f.account, f.direction) for f in flag_changes({"tickets": counts}, {"tickets": totals}).flags]


def test_the_demos_day_report_flags_only_the_sso_customer():
    model = Replayer("http://127.0.0.1:8000", {"tenant": "acme", "webhook_secret": "s", "site_key": "k"},
                     speed=SPEED).model
    for _ in model.session_history(START, SESSION_HISTORY_HOURS, speed=SPEED):  # sent first, as the demo does
        pass
    tickets = [(t["created_at"], t["requester"]["org"]) for t in model.history(START, HISTORY_DAYS, speed=SPEED)]
    assert _flags(tickets, START, 1) == []  # the history alone: nobody changed
    seen = {}
    now, minute = START, 0.0
    for second in range(1, 40 * 60 + 1):  # the live replay's first 40 minutes: the SSO surge, the invoice ones
        tickets += [(now, t["requester"]["org"]) for t in model.tickets(now, minute, seconds=SPEED)]
        for _ in model.sessions(now, minute, seconds=SPEED):
            pass
        minute += SPEED / 60
        now += timedelta(seconds=1)
        if second % 600 == 0:
            seen[second // 60] = _flags(tickets, now, 1)
    assert seen == {m: [(QUIET_ORG, "up")] for m in (10, 20, 30, 40)}
    assert _flags(tickets, now, 7) == [(QUIET_ORG, "up")]
